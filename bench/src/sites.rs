//! The synthetic blog written once per tool, with equivalent templates, as a real blog is
//! built: a post page (title, date, tags, highlighted content), a home page paginated ten
//! posts a page (`/page/N/`), a page per tag and per category listing its posts, an index
//! of each, a feed of the ten newest posts and a sitemap.
//!
//! Jekyll gets pagination from jekyll-paginate and the tag and category pages from
//! jekyll-archives (both packaged by Debian); Galley builds that same Liquid site unchanged.

use std::path::Path;

use anyhow::{Context, Result};

use crate::synth::Post;

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn yaml_front_matter(p: &Post) -> String {
    format!(
        "---\ntitle: \"{}\"\ndate: {}\ncategories: [{}]\ntags: [{}]\n---\n\n",
        p.title,
        p.date,
        p.category,
        p.tags.join(", ")
    )
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Zola reads TOML front matter; the post sits at the same URL as on the other tools.
fn toml_front_matter(p: &Post) -> String {
    let (day, time) = p.date.split_once(' ').unwrap_or((&p.date, "00:00:00"));
    format!(
        "+++\ntitle = \"{}\"\ndate = {day}T{time}Z\npath = \"{}/{}/\"\n[taxonomies]\ncategories = [{}]\ntags = [{}]\n+++\n\n",
        p.title,
        day.replace('-', "/"),
        p.slug,
        quoted(&[p.category]),
        quoted(&p.tags)
    )
}

fn posts_into(
    dir: &Path,
    posts: &[Post],
    name: impl Fn(&Post) -> String,
    front_matter: impl Fn(&Post) -> String,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for p in posts {
        let mut text = front_matter(p);
        text.push_str(&p.body);
        std::fs::write(dir.join(name(p)), text)?;
    }
    Ok(())
}

const CONFIG: &str = "title: Bench Blog\nurl: https://bench.example\npermalink: /:year/:month/:day/:title/\npaginate: 10\npaginate_path: /page/:num/\n";

/// The HTML around every page, the same for every tool.
const HEAD: &str = "<!doctype html><html><head><title>";
const BODY: &str = "</title><link rel=\"stylesheet\" href=\"/assets/highlight.css\"></head><body><header><a href=\"/\">";
const MAIN: &str = "</a></header><main>";
const END: &str = "</main></body></html>\n";

/// Layouts whose text is valid both as Tera (Galley) and as Liquid (Jekyll).
fn default_layout() -> String {
    format!("{HEAD}{{{{ page.title }}}} - {{{{ site.title }}}}{BODY}{{{{ site.title }}}}{MAIN}{{{{ content }}}}{END}")
}
const POST_LAYOUT: &str = "---\nlayout: default\n---\n<article><h1>{{ page.title }}</h1><time>{{ page.date | date_to_string }}</time><ul>{% for t in page.tags %}<li>{{ t }}</li>{% endfor %}</ul>{{ content }}</article>\n";
const POSTS_DEFAULTS: &str = "defaults:\n  - scope: {type: posts}\n    values: {layout: post}\n";
/// One entry of a list page, in Liquid and Tera alike.
const ENTRY: &str = "<li><a href=\"{{ post.url }}\">{{ post.title }}</a></li>";
/// The pager under the home page's list.
const PAGER: &str = "<nav>{% if paginator.previous_page_path %}<a href=\"{{ paginator.previous_page_path }}\">Newer</a>{% endif %} {{ paginator.page }} / {{ paginator.total_pages }} {% if paginator.next_page_path %}<a href=\"{{ paginator.next_page_path }}\">Older</a>{% endif %}</nav>";

/// Galley's own site: Tera layouts, its built-in feed, sitemap, tag and category pages.
pub fn galley(root: &Path, posts: &[Post]) -> Result<()> {
    write(
        &root.join("_config.yml"),
        &format!("{CONFIG}template_engine: tera\n{POSTS_DEFAULTS}"),
    )?;
    write(&root.join("_layouts/default.html"), &default_layout())?;
    write(&root.join("_layouts/post.html"), POST_LAYOUT)?;
    write(
        &root.join("_layouts/home.html"),
        &format!("---\nlayout: default\n---\n<ul>{{% for post in paginator.posts %}}{ENTRY}{{% endfor %}}</ul>{PAGER}\n"),
    )?;
    for kind in ["tag", "category"] {
        write(
            &root.join(format!("_layouts/{kind}.html")),
            &format!("---\nlayout: default\n---\n<h1>{{{{ taxonomy.name }}}}</h1><ul>{{% for post in taxonomy.posts %}}{ENTRY}{{% endfor %}}</ul>\n"),
        )?;
    }
    for kinds in ["tags", "categories"] {
        write(
            &root.join(format!("_layouts/{kinds}.html")),
            "---\nlayout: default\n---\n<ul>{% for term in taxonomy.terms %}<li><a href=\"{{ term.url }}\">{{ term.name }}</a> ({{ term.count }})</li>{% endfor %}</ul>\n",
        )?;
    }
    write(
        &root.join("index.html"),
        "---\nlayout: home\ntitle: Home\n---\n",
    )?;
    posts_into(
        &root.join("_posts"),
        posts,
        |p| format!("{}.md", p.stem),
        yaml_front_matter,
    )
}

/// The Jekyll site: Liquid layouts and GitHub Pages' plugins, as Debian packages them.
pub fn jekyll(root: &Path, posts: &[Post]) -> Result<()> {
    write(
        &root.join("_config.yml"),
        &format!(
            "{CONFIG}plugins: [jekyll-feed, jekyll-paginate, jekyll-archives]\n{POSTS_DEFAULTS}\
jekyll-archives:\n  enabled: [categories, tags]\n  layout: archive\n  permalinks:\n    tag: /tags/:name/\n    category: /categories/:name/\n"
        ),
    )?;
    write(&root.join("_layouts/default.html"), &default_layout())?;
    write(&root.join("_layouts/post.html"), POST_LAYOUT)?;
    write(
        &root.join("_layouts/archive.html"),
        &format!("---\nlayout: default\n---\n<h1>{{{{ page.title }}}}</h1><ul>{{% for post in page.posts %}}{ENTRY}{{% endfor %}}</ul>\n"),
    )?;
    write(
        &root.join("index.html"),
        &format!("---\nlayout: default\ntitle: Home\n---\n<ul>{{% for post in paginator.posts %}}{ENTRY}{{% endfor %}}</ul>{PAGER}\n"),
    )?;
    for (kinds, list) in [("tags", "site.tags"), ("categories", "site.categories")] {
        write(
            &root.join(format!("{kinds}/index.html")),
            &format!("---\nlayout: default\ntitle: {kinds}\n---\n<ul>{{% for term in {list} %}}<li><a href=\"/{kinds}/{{{{ term[0] | slugify }}}}/\">{{{{ term[0] }}}}</a> ({{{{ term[1].size }}}})</li>{{% endfor %}}</ul>\n"),
        )?;
    }
    // jekyll-sitemap is not packaged; a Liquid sitemap page does the same work.
    write(
        &root.join("sitemap.xml"),
        "---\nlayout: null\n---\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{% for post in site.posts %}<url><loc>{{ post.url | absolute_url }}</loc><lastmod>{{ post.date | date_to_xmlschema }}</lastmod></url>{% endfor %}</urlset>\n",
    )?;
    posts_into(
        &root.join("_posts"),
        posts,
        |p| format!("{}.md", p.stem),
        yaml_front_matter,
    )
}

pub fn hugo(root: &Path, posts: &[Post]) -> Result<()> {
    write(
        &root.join("hugo.toml"),
        "baseURL = 'https://bench.example/'\ntitle = 'Bench Blog'\npaginate = 10\n[taxonomies]\ncategory = 'categories'\ntag = 'tags'\n[services.rss]\nlimit = 10\n[permalinks]\nposts = '/:year/:month/:day/:slug/'\n[markup.highlight]\nnoClasses = false\n",
    )?;
    write(
        &root.join("layouts/_default/baseof.html"),
        &format!("{HEAD}{{{{ .Title }}}} - {{{{ .Site.Title }}}}{BODY}{{{{ .Site.Title }}}}{MAIN}{{{{ block \"main\" . }}}}{{{{ end }}}}{END}"),
    )?;
    write(
        &root.join("layouts/_default/single.html"),
        "{{ define \"main\" }}<article><h1>{{ .Title }}</h1><time>{{ .Date.Format \"02 Jan 2006\" }}</time><ul>{{ range .Params.tags }}<li>{{ . }}</li>{{ end }}</ul>{{ .Content }}</article>{{ end }}\n",
    )?;
    write(
        &root.join("layouts/_default/list.html"),
        "{{ define \"main\" }}{{ end }}\n",
    )?;
    let entry = "<li><a href=\"{{ .RelPermalink }}\">{{ .Title }}</a></li>";
    write(
        &root.join("layouts/_default/term.html"),
        &format!("{{{{ define \"main\" }}}}<h1>{{{{ .Title }}}}</h1><ul>{{{{ range .Pages }}}}{entry}{{{{ end }}}}</ul>{{{{ end }}}}\n"),
    )?;
    write(
        &root.join("layouts/_default/terms.html"),
        "{{ define \"main\" }}<ul>{{ range .Data.Terms.Alphabetical }}<li><a href=\"{{ .Page.RelPermalink }}\">{{ .Page.Title }}</a> ({{ .Count }})</li>{{ end }}</ul>{{ end }}\n",
    )?;
    write(
        &root.join("layouts/index.html"),
        &format!("{{{{ define \"main\" }}}}{{{{ $pager := .Paginate (where .Site.RegularPages \"Section\" \"posts\") }}}}<ul>{{{{ range $pager.Pages }}}}{entry}{{{{ end }}}}</ul><nav>{{{{ with $pager.Prev }}}}<a href=\"{{{{ .URL }}}}\">Newer</a>{{{{ end }}}} {{{{ $pager.PageNumber }}}} / {{{{ $pager.TotalPages }}}} {{{{ with $pager.Next }}}}<a href=\"{{{{ .URL }}}}\">Older</a>{{{{ end }}}}</nav>{{{{ end }}}}\n"),
    )?;
    posts_into(
        &root.join("content/posts"),
        posts,
        |p| format!("{}.md", p.slug),
        yaml_front_matter,
    )
}

/// Zola's site: Tera templates as Galley's, its built-in feed, sitemap and taxonomies.
pub fn zola(root: &Path, posts: &[Post]) -> Result<()> {
    write(
        &root.join("zola.toml"),
        "base_url = \"https://bench.example\"\ntitle = \"Bench Blog\"\ngenerate_feeds = true\nfeed_limit = 10\ntaxonomies = [{ name = \"categories\" }, { name = \"tags\" }]\n[markdown.highlighting]\nstyle = \"class\"\ntheme = \"github-light\"\n",
    )?;
    write(
        &root.join("templates/base.html"),
        &format!("{HEAD}{{% block title %}}{{% endblock %}} - {{{{ config.title }}}}{BODY}{{{{ config.title }}}}{MAIN}{{% block main %}}{{% endblock %}}{END}"),
    )?;
    let entry = "<li><a href=\"{{ p.path }}\">{{ p.title }}</a></li>";
    write(
        &root.join("templates/page.html"),
        "{% extends \"base.html\" %}{% block title %}{{ page.title }}{% endblock %}{% block main %}<article><h1>{{ page.title }}</h1><time>{{ page.date | date(format=\"%d %b %Y\") }}</time><ul>{% for t in page.taxonomies.tags %}<li>{{ t }}</li>{% endfor %}</ul>{{ page.content | safe }}</article>{% endblock %}\n",
    )?;
    write(
        &root.join("templates/index.html"),
        &format!("{{% extends \"base.html\" %}}{{% block title %}}Home{{% endblock %}}{{% block main %}}<ul>{{% for p in paginator.pages %}}{entry}{{% endfor %}}</ul><nav>{{% if paginator.previous %}}<a href=\"{{{{ paginator.previous }}}}\">Newer</a>{{% endif %}} {{{{ paginator.current_index }}}} / {{{{ paginator.number_pagers }}}} {{% if paginator.next %}}<a href=\"{{{{ paginator.next }}}}\">Older</a>{{% endif %}}</nav>{{% endblock %}}\n"),
    )?;
    write(
        &root.join("templates/taxonomy_single.html"),
        &format!("{{% extends \"base.html\" %}}{{% block title %}}{{{{ term.name }}}}{{% endblock %}}{{% block main %}}<h1>{{{{ term.name }}}}</h1><ul>{{% for p in term.pages %}}{entry}{{% endfor %}}</ul>{{% endblock %}}\n"),
    )?;
    write(
        &root.join("templates/taxonomy_list.html"),
        "{% extends \"base.html\" %}{% block title %}{{ taxonomy.name }}{% endblock %}{% block main %}<ul>{% for term in terms %}<li><a href=\"{{ term.path }}\">{{ term.name }}</a> ({{ term.page_count }})</li>{% endfor %}</ul>{% endblock %}\n",
    )?;
    write(
        &root.join("content/_index.md"),
        "+++\nsort_by = \"date\"\npaginate_by = 10\n+++\n",
    )?;
    posts_into(
        &root.join("content"),
        posts,
        |p| format!("{}.md", p.slug),
        toml_front_matter,
    )
}
