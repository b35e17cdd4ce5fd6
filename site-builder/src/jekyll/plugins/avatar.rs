//! `{% avatar octocat %}` or `{% avatar user=page.author size=50 %}` (jekyll-avatar): a
//! GitHub avatar `<img>` with a `srcset` for 1× to 4× screens, on the avatar host the
//! plugin picks for that path, so pages keep the same URLs (and caches) as under Jekyll.

use std::io::Write;

use liquid_core::model::{ScalarCow, ValueView};
use liquid_core::{
    Error, Language, ParseTag, Renderable, Result, Runtime, TagReflection, TagTokenIter,
};

use crate::highlight::escape;
use crate::jekyll::markup;

#[derive(Clone, Copy, Debug)]
pub struct Avatar;

impl TagReflection for Avatar {
    fn tag(&self) -> &str {
        "avatar"
    }
    fn description(&self) -> &str {
        "jekyll-avatar's GitHub avatar image"
    }
}

impl ParseTag for Avatar {
    fn parse(&self, mut arguments: TagTokenIter<'_>, _: &Language) -> Result<Box<dyn Renderable>> {
        let markup = markup::read(
            &mut arguments,
            "avatar",
            "avatar needs a user, e.g. {% avatar octocat %}",
        )?;
        Ok(Box::new(Image { markup }))
    }
    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

#[derive(Debug)]
struct Image {
    markup: String,
}

/// `key=value` in the tag's markup.
fn setting<'a>(markup: &'a str, key: &str) -> Option<&'a str> {
    markup
        .split_whitespace()
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

impl Image {
    /// `user=` names a variable (its value, or the name itself when it has none); otherwise
    /// the first word is the user.
    fn user(&self, runtime: &dyn Runtime) -> String {
        match setting(&self.markup, "user") {
            Some(var) => {
                let path: Vec<ScalarCow<'_>> = var
                    .split('.')
                    .map(|p| ScalarCow::new(p.to_string()))
                    .collect();
                runtime
                    .try_get(&path)
                    .filter(|v| !v.is_nil())
                    .map_or_else(|| var.to_string(), |v| v.to_kstr().to_string())
            }
            None => self
                .markup
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string(),
        }
    }
}

impl Renderable for Image {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let user = self.user(runtime);
        let size: u32 = setting(&self.markup, "size")
            .and_then(|s| s.parse().ok())
            .unwrap_or(40);
        let path = |scale: u32| format!("{user}?v=3&s={}", size * scale);
        // The plugin spreads avatars over four hosts by the CRC-32 of the 1× path.
        let server = crc32fast::hash(path(1).as_bytes()) % 4;
        let url = |scale: u32| {
            format!(
                "https://avatars{server}.githubusercontent.com/{}",
                path(scale)
            )
        };
        let srcset: Vec<String> = (1..=4).map(|s| format!("{} {s}x", url(s))).collect();
        let class = if size < 48 {
            "avatar avatar-small"
        } else {
            "avatar"
        };
        write!(
            writer,
            // The plugin's own markup: URLs as they are, a self-closing tag.
            "<img class=\"{class}\" alt=\"{}\" width=\"{size}\" height=\"{size}\" data-proofer-ignore=\"true\" src=\"{}\" srcset=\"{}\" />",
            escape(&user),
            url(1),
            srcset.join(", ")
        )
        .map_err(|e| Error::with_msg(format!("writing output: {e}")))
    }
}
