//! `{% gist user/id [file] %}` (jekyll-gist): the gist's embed script. jekyll-gist also
//! fetches the gist for a `<noscript>` copy; Galley never reaches the network during a build,
//! so it writes the script alone (what jekyll-gist writes when the fetch fails).

use std::io::Write;

use liquid_core::{
    Error, Language, ParseTag, Renderable, Result, Runtime, TagReflection, TagTokenIter,
};

use crate::jekyll::markup;

#[derive(Clone, Copy, Debug)]
pub struct Gist;

impl TagReflection for Gist {
    fn tag(&self) -> &str {
        "gist"
    }
    fn description(&self) -> &str {
        "jekyll-gist's embedded gist"
    }
}

impl ParseTag for Gist {
    fn parse(&self, mut arguments: TagTokenIter<'_>, _: &Language) -> Result<Box<dyn Renderable>> {
        let markup = markup::read(
            &mut arguments,
            "gist",
            "gist needs a gist id, e.g. {% gist parkr/c08ee0 %}",
        )?;
        let mut words = markup.split_whitespace();
        let id = words
            .next()
            .ok_or_else(|| Error::with_msg("gist needs a gist id, e.g. {% gist parkr/c08ee0 %}"))?
            .to_string();
        let file = words.next().map(str::to_string);
        Ok(Box::new(Embed { id, file }))
    }
    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

#[derive(Debug)]
struct Embed {
    id: String,
    file: Option<String>,
}

impl Renderable for Embed {
    fn render_to(&self, writer: &mut dyn Write, _: &dyn Runtime) -> Result<()> {
        let query = self
            .file
            .as_ref()
            .map(|f| format!("?file={f}"))
            .unwrap_or_default();
        write!(
            writer,
            "<script src=\"https://gist.github.com/{}.js{query}\"> </script>",
            self.id
        )
        .map_err(|e| Error::with_msg(format!("writing output: {e}")))
    }
}
