//! The synthetic blog written three times, with equivalent templates: a post page (title,
//! date, tags, highlighted content), a home page listing the 10 newest posts, an Atom/RSS
//! feed and a sitemap. No pagination or tag pages (Jekyll has neither without plugins).

use std::path::Path;

use anyhow::{Context, Result};

use crate::synth::Post;

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn front_matter(p: &Post) -> String {
    format!(
        "---\ntitle: \"{}\"\ndate: {}\ncategories: [{}]\ntags: [{}]\n---\n\n",
        p.title,
        p.date,
        p.category,
        p.tags.join(", ")
    )
}

fn posts_into(dir: &Path, posts: &[Post], name: impl Fn(&Post) -> String) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for p in posts {
        let mut text = front_matter(p);
        text.push_str(&p.body);
        std::fs::write(dir.join(name(p)), text)?;
    }
    Ok(())
}

const CONFIG: &str =
    "title: Bench Blog\nurl: https://bench.example\npermalink: /:year/:month/:day/:title/\n";

/// Layouts whose text is valid both as Tera (Galley) and as Liquid (Jekyll).
const DEFAULT_LAYOUT: &str = "<!doctype html><html><head><title>{{ page.title }} - {{ site.title }}</title><link rel=\"stylesheet\" href=\"/assets/highlight.css\"></head><body><header><a href=\"/\">{{ site.title }}</a></header><main>{{ content }}</main></body></html>\n";
const POST_LAYOUT: &str = "---\nlayout: default\n---\n<article><h1>{{ page.title }}</h1><time>{{ page.date | date_to_string }}</time><ul>{% for t in page.tags %}<li>{{ t }}</li>{% endfor %}</ul>{{ content }}</article>\n";
const POSTS_DEFAULTS: &str = "defaults:\n  - scope: {type: posts}\n    values: {layout: post}\n";

pub fn galley(root: &Path, posts: &[Post]) -> Result<()> {
    write(
        &root.join("_config.yml"),
        &format!("{CONFIG}template_engine: tera\n{POSTS_DEFAULTS}"),
    )?;
    write(&root.join("_layouts/default.html"), DEFAULT_LAYOUT)?;
    write(&root.join("_layouts/post.html"), POST_LAYOUT)?;
    write(
        &root.join("_layouts/home.html"),
        "---\nlayout: default\n---\n<ul>{% for post in site.posts | slice(end=10) %}<li><a href=\"{{ post.url }}\">{{ post.title }}</a></li>{% endfor %}</ul>\n",
    )?;
    write(
        &root.join("index.html"),
        "---\nlayout: home\ntitle: Home\n---\n",
    )?;
    posts_into(&root.join("_posts"), posts, |p| format!("{}.md", p.stem))
}

pub fn jekyll(root: &Path, posts: &[Post]) -> Result<()> {
    write(
        &root.join("_config.yml"),
        &format!("{CONFIG}plugins: [jekyll-feed]\n{POSTS_DEFAULTS}"),
    )?;
    write(&root.join("_layouts/default.html"), DEFAULT_LAYOUT)?;
    write(&root.join("_layouts/post.html"), POST_LAYOUT)?;
    write(
        &root.join("_layouts/home.html"),
        "---\nlayout: default\n---\n<ul>{% for post in site.posts limit:10 %}<li><a href=\"{{ post.url }}\">{{ post.title }}</a></li>{% endfor %}</ul>\n",
    )?;
    write(
        &root.join("index.html"),
        "---\nlayout: home\ntitle: Home\n---\n",
    )?;
    // jekyll-sitemap is not packaged; a Liquid sitemap page does the same work.
    write(
        &root.join("sitemap.xml"),
        "---\nlayout: null\n---\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{% for post in site.posts %}<url><loc>{{ post.url | absolute_url }}</loc><lastmod>{{ post.date | date_to_xmlschema }}</lastmod></url>{% endfor %}</urlset>\n",
    )?;
    posts_into(&root.join("_posts"), posts, |p| format!("{}.md", p.stem))
}

pub fn hugo(root: &Path, posts: &[Post]) -> Result<()> {
    write(
        &root.join("hugo.toml"),
        "baseURL = 'https://bench.example/'\ntitle = 'Bench Blog'\ndisableKinds = ['taxonomy', 'term']\n[permalinks]\nposts = '/:year/:month/:day/:slug/'\n[markup.highlight]\nnoClasses = false\n",
    )?;
    write(
        &root.join("layouts/_default/baseof.html"),
        "<!doctype html><html><head><title>{{ .Title }} - {{ .Site.Title }}</title><link rel=\"stylesheet\" href=\"/assets/highlight.css\"></head><body><header><a href=\"/\">{{ .Site.Title }}</a></header><main>{{ block \"main\" . }}{{ end }}</main></body></html>\n",
    )?;
    write(
        &root.join("layouts/_default/single.html"),
        "{{ define \"main\" }}<article><h1>{{ .Title }}</h1><time>{{ .Date.Format \"02 Jan 2006\" }}</time><ul>{{ range .Params.tags }}<li>{{ . }}</li>{{ end }}</ul>{{ .Content }}</article>{{ end }}\n",
    )?;
    write(
        &root.join("layouts/_default/list.html"),
        "{{ define \"main\" }}{{ end }}\n",
    )?;
    write(
        &root.join("layouts/index.html"),
        "{{ define \"main\" }}<ul>{{ range first 10 (where .Site.RegularPages \"Section\" \"posts\") }}<li><a href=\"{{ .RelPermalink }}\">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}\n",
    )?;
    posts_into(&root.join("content/posts"), posts, |p| {
        format!("{}.md", p.slug)
    })
}
