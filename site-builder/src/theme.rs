//! Galley's built-in theme, embedded in the binary: a site without `_layouts` still gets a
//! clean, responsive, accessible blog (home with paginated posts, posts with date, tags and
//! contents, category and tag pages, 404).

/// Tera templates, registered under `galley/` so they never clash with a site's own.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("galley/base.html", include_str!("../theme/base.html")),
    ("galley/post.html", include_str!("../theme/post.html")),
    ("galley/page.html", include_str!("../theme/page.html")),
    ("galley/home.html", include_str!("../theme/home.html")),
    (
        "galley/post_list.html",
        include_str!("../theme/post_list.html"),
    ),
    (
        "galley/taxonomy.html",
        include_str!("../theme/taxonomy.html"),
    ),
    (
        "galley/taxonomies.html",
        include_str!("../theme/taxonomies.html"),
    ),
    ("galley/404.html", include_str!("../theme/404.html")),
];

/// Layout names the theme answers to, and their templates.
pub const LAYOUTS: &[(&str, &str)] = &[
    ("post", "galley/post.html"),
    ("page", "galley/page.html"),
    ("home", "galley/home.html"),
    ("tag", "galley/taxonomy.html"),
    ("category", "galley/taxonomy.html"),
    ("tags", "galley/taxonomies.html"),
    ("categories", "galley/taxonomies.html"),
    ("404", "galley/404.html"),
];

/// The theme's stylesheet and where it is published.
pub const STYLESHEET: (&str, &str) = ("assets/galley.css", include_str!("../theme/galley.css"));
