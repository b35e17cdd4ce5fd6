//! Layouts and includes as Tera templates. A page's `layout:` picks a layout; a layout's own
//! front matter `layout:` wraps it further (Jekyll's chaining), alongside Tera's `extends`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};
use tera::{Context, Tera};

use crate::config::{Config, Engine};
use crate::cycles::{self, Graph, Step};
use crate::discover::{Role, Source, Sources};
use crate::error::{Diagnostic, Diagnostics, Result};
use crate::filters::{self, Filter};
use crate::frontmatter;
use crate::jekyll;
use crate::lists::Reads;
use crate::theme;

/// A layout: its Tera template, its front matter, and where it came from.
#[derive(Debug, Clone)]
pub struct Layout {
    pub template: String,
    /// Its front matter (an object), as `layout` shows it.
    pub front: Value,
    pub parent: Option<String>,
    /// The line of its `layout:` key, for loop messages.
    pub parent_line: usize,
}

/// Where a template's text came from, to report errors at file lines.
#[derive(Debug, Clone)]
struct Origin {
    rel: String,
    line_offset: usize,
    text: String,
}

pub struct Templates {
    pub tera: Tera,
    layouts: HashMap<String, Layout>,
    includes: HashMap<String, String>,
    origins: HashMap<String, Origin>,
    /// True when the site has no `_layouts`, so Galley's built-in theme dresses it.
    pub theme: bool,
    /// Per layout name: every template its pages render through (its chain and what those
    /// include, extend or import), so a template edit re-renders only the pages using it.
    deps: HashMap<String, HashSet<String>>,
    /// The site's own layouts and includes, parsed as Jekyll's Liquid (unless the site chose
    /// Tera); the built-in theme is always Tera.
    pub liquid: Option<Arc<jekyll::Parsed>>,
    pub engine: Engine,
}

/// What reading the site's layouts and includes (and the built-in theme) gathers, before
/// anything is compiled; every problem is kept so one run reports them all.
struct Gathered {
    problems: Diagnostics,
    liquid: Option<jekyll::Parsed>,
    /// Templates for Tera: (name, text).
    raw: Vec<(String, String)>,
    layouts: HashMap<String, Layout>,
    includes: HashMap<String, String>,
    names: Names,
}

impl Gathered {
    /// One of the site's `_layouts`: its front matter (parent layout) and its template.
    fn layout(&mut self, source: &Source) {
        let Some(text) = read(&source.abs, &mut self.problems) else {
            return;
        };
        let split = match frontmatter::split(&source.abs, &text) {
            Ok(s) => s,
            Err(d) => {
                self.problems.push(d);
                return;
            }
        };
        let file = source.rel.trim_start_matches("_layouts/").to_string();
        let name = file
            .rsplit_once('.')
            .map_or(file.as_str(), |(s, _)| s)
            .to_string();
        let front = split.front.unwrap_or_default();
        let parent = match front.get("layout") {
            Some(Value::String(p)) if p != "none" && !p.is_empty() => Some(p.clone()),
            _ => None,
        };
        let parent_line = text
            .lines()
            .take(split.body_line_offset)
            .position(|l| l.trim_start().starts_with("layout:"))
            .map_or(1, |i| i + 1);
        claim(
            &mut self.names,
            &file,
            &source.rel,
            split.body_line_offset,
            split.body,
        );
        match self.liquid.as_mut() {
            Some(l) => {
                l.add(
                    &format!("layout:{file}"),
                    &source.rel,
                    split.body,
                    split.body_line_offset,
                );
                self.problems
                    .extend(l.error(&format!("layout:{file}")).cloned());
            }
            None => self.raw.push((file.clone(), split.body.to_string())),
        }
        self.layouts.insert(
            name,
            Layout {
                template: file,
                front: Value::Object(front),
                parent,
                parent_line,
            },
        );
    }

    /// One of the site's `_includes`.
    fn include(&mut self, source: &Source) {
        let Some(text) = read(&source.abs, &mut self.problems) else {
            return;
        };
        let file = source.rel.trim_start_matches("_includes/").to_string();
        claim(&mut self.names, &file, &source.rel, 0, &text);
        self.includes.insert(file.clone(), file.clone());
        match self.liquid.as_mut() {
            Some(l) => l.add(&format!("include:{file}"), &source.rel, &text, 0),
            None => self.raw.push((file, text)),
        }
    }

    /// The built-in theme's templates, always there for Tera; its layouts only when the site
    /// has none of its own.
    fn builtin_theme(&mut self, theme: bool) {
        for (template, text) in theme::TEMPLATES {
            self.raw.push((template.to_string(), text.to_string()));
            self.names.origins.insert(
                template.to_string(),
                Origin {
                    rel: format!("(built-in theme) {template}"),
                    line_offset: 0,
                    text: text.to_string(),
                },
            );
        }
        if theme {
            for (name, template) in theme::LAYOUTS {
                self.layouts.insert(
                    name.to_string(),
                    Layout {
                        template: template.to_string(),
                        front: Value::Object(Map::new()),
                        parent: None,
                        parent_line: 1,
                    },
                );
            }
        }
    }
}

impl Templates {
    pub fn load(sources: &Sources, filters: &[Filter], config: &Config) -> Result<Templates> {
        let engine = config.engine;
        let mut found = Gathered {
            problems: Diagnostics::default(),
            liquid: (engine == Engine::Liquid)
                .then(|| jekyll::Parsed::new(filters, &config.plugins(), config.strict_filters)),
            raw: Vec::new(),
            layouts: HashMap::new(),
            includes: HashMap::new(),
            names: Names::default(),
        };
        let site_layouts: Vec<_> = sources.of(Role::Layout).collect();
        let theme = site_layouts.is_empty();
        for source in site_layouts {
            found.layout(source);
        }
        for source in sources
            .of(Role::Include)
            .filter(|s| s.rel.starts_with("_includes/"))
        {
            found.include(source);
        }
        found.builtin_theme(theme);
        let Gathered {
            mut problems,
            liquid,
            raw,
            layouts,
            includes,
            names,
        } = found;
        problems.extend(names.clashes);
        problems.extend(include_loops(&names.origins, engine));
        problems.into_result()?;

        let mut tera = Tera::default();
        // Liquid does not escape output and Jekyll layouts print `{{ content }}` as is.
        tera.autoescape_on(vec![]);
        filters::register(&mut tera, filters);
        let mut templates = Templates {
            tera,
            layouts,
            includes,
            origins: names.origins,
            theme,
            deps: HashMap::new(),
            liquid: liquid.map(Arc::new),
            engine,
        };
        templates.add_tera(&raw, filters)?;
        templates.check_chains()?;
        templates.deps = templates
            .layouts
            .keys()
            .map(|name| (name.clone(), templates.closure(templates.chain(name))))
            .collect();
        Ok(templates)
    }

    /// Compiles the Tera templates (the built-in theme's, and the site's when it chose
    /// Tera). Tera stops at the first bad template, so on failure each is parsed alone to
    /// report them all.
    fn add_tera(&mut self, raw: &[(String, String)], filters: &[Filter]) -> Result<()> {
        if let Err(e) = self.tera.add_raw_templates(raw.to_vec()) {
            // Tera stops at the first bad template: parse each alone to report them all.
            let mut problems = Diagnostics::default();
            for (name, text) in raw {
                let mut probe = Tera::default();
                filters::register(&mut probe, filters);
                if let Err(e) = probe.add_raw_template(name, text) {
                    if !matches!(e.kind, tera::ErrorKind::MissingParent { .. }) {
                        problems.push(self.diagnose(name, &e));
                    }
                }
            }
            if problems.is_empty() {
                problems.push(self.diagnose("", &e));
            }
            problems.into_result()?;
        }
        Ok(())
    }

    /// The template files of a layout and the layouts it names in turn.
    fn chain(&self, layout: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut name = Some(layout.to_string());
        while let Some(l) = name.and_then(|n| self.layouts.get(&n)) {
            if out.contains(&l.template) || out.len() > 16 {
                break;
            }
            out.push(l.template.clone());
            name = l.parent.clone();
        }
        out
    }

    /// Templates reachable from `start` through quoted names (`{% include "x.html" %}`,
    /// `{% extends "base.html" %}`): by text, so it errs towards depending on too much.
    fn closure(&self, start: Vec<String>) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut stack = start;
        while let Some(t) = stack.pop() {
            let Some(origin) = self.origins.get(&t) else {
                continue;
            };
            if !seen.insert(t) {
                continue;
            }
            for other in self.origins.keys() {
                if !seen.contains(other)
                    && (origin.text.contains(&format!("\"{other}\""))
                        || origin.text.contains(&format!("'{other}'"))
                        || origin.text.contains(&format!("include {other}")))
                {
                    stack.push(other.clone());
                }
            }
        }
        seen
    }

    /// Which site-wide lists pages with this layout read.
    pub fn layout_reads(&self, layout: &str) -> Reads {
        self.deps.get(layout).map_or(Reads::default(), |deps| {
            deps.iter()
                .filter_map(|t| self.origins.get(t))
                .fold(Reads::default(), |r, o| r.union(Reads::of_text(&o.text)))
        })
    }

    /// Whether any template the layout's pages render through says `word`.
    pub fn layout_mentions(&self, layout: &str, words: &[&str]) -> bool {
        self.deps.get(layout).is_some_and(|deps| {
            deps.iter()
                .filter_map(|t| self.origins.get(t))
                .any(|o| words.iter().any(|w| o.text.contains(w)))
        })
    }

    /// Whether pages with this layout render through any of these template files.
    pub fn layout_uses(&self, layout: &str, files: &HashSet<String>) -> bool {
        self.deps
            .get(layout)
            .is_some_and(|deps| !deps.is_disjoint(files))
    }

    /// Includes, by file name, that read site-wide lists themselves or through what they
    /// include: a document whose body names one reads those lists too.
    pub fn include_reads(&self) -> Vec<(String, Reads)> {
        self.includes
            .keys()
            .map(|name| {
                let reads = self
                    .closure(vec![name.clone()])
                    .iter()
                    .filter_map(|t| self.origins.get(t))
                    .fold(Reads::default(), |r, o| r.union(Reads::of_text(&o.text)));
                (name.clone(), reads)
            })
            .filter(|(_, r)| r.any())
            .collect()
    }

    /// Layout names, to tell whether a template edit added or removed one.
    pub fn layout_names(&self) -> HashSet<&str> {
        self.layouts.keys().map(String::as_str).collect()
    }

    pub fn layout(&self, name: &str) -> Option<&Layout> {
        self.layouts.get(name)
    }

    pub fn has_layout(&self, name: &str) -> bool {
        self.layouts.contains_key(name)
    }

    pub fn has_include(&self, name: &str) -> bool {
        self.includes.contains_key(name)
    }

    /// Which site-wide lists the site's own templates read (the built-in theme reads none).
    pub fn sources_reads(&self) -> Reads {
        self.origins
            .iter()
            .filter(|(name, _)| !name.starts_with("galley/"))
            .fold(Reads::default(), |r, (_, o)| {
                r.union(Reads::of_text(&o.text))
            })
    }

    /// Renders `content` through `layout` and the layouts it names in turn.
    pub fn apply_layouts(
        &self,
        layout: &str,
        mut content: String,
        ctx: &mut Context,
    ) -> Result<String, Diagnostic> {
        let mut name = layout.to_string();
        for _ in 0..16 {
            let Some(l) = self.layouts.get(&name) else {
                return Err(Diagnostic::new(
                    "_layouts",
                    format!("unknown layout `{name}`"),
                ));
            };
            ctx.insert("content", &content);
            ctx.insert("layout", &l.front);
            content = self
                .tera
                .render(&l.template, ctx)
                .map_err(|e| self.diagnose(&l.template, &e))?;
            match &l.parent {
                Some(p) => name = p.clone(),
                None => return Ok(content),
            }
        }
        Err(
            Diagnostic::new(format!("_layouts/{name}"), "layouts nest more than 16 deep")
                .hint("a layout's `layout:` must not lead back to itself"),
        )
    }

    /// Renders an include (for `{% include %}` in content).
    pub fn render_include(&self, name: &str, ctx: &Context) -> Result<String, Diagnostic> {
        self.tera
            .render(name, ctx)
            .map_err(|e| self.diagnose(name, &e))
    }

    /// Every `layout:` names a layout, and no chain of them leads back round.
    fn check_chains(&self) -> Result<()> {
        let mut problems = Diagnostics::default();
        let mut graph = Graph::default();
        for (name, layout) in &self.layouts {
            let Some(parent) = &layout.parent else {
                continue;
            };
            let file = self.file_of(&layout.template);
            if !self.layouts.contains_key(parent) {
                problems.push(
                    Diagnostic::new(file, format!("unknown layout `{parent}`"))
                        .at_line(layout.parent_line)
                        .hint(format!(
                            "create _layouts/{parent}.html or fix the `layout:` name"
                        )),
                );
                continue;
            }
            let step = Step {
                to: parent.clone(),
                file,
                line: layout.parent_line,
                // Front matter keys start their line.
                column: 1,
            };
            graph.add(name, step);
        }
        for cycle in graph.loops() {
            problems.push(cycles::diagnose(
                &cycle,
                "layout",
                "layouts wrap each other in a circle: remove the `layout:` that closes it",
            ));
        }
        problems.into_result()
    }

    fn file_of(&self, template: &str) -> String {
        self.origins
            .get(template)
            .map_or(template.to_string(), |o| o.rel.clone())
    }

    /// Turns a Tera error into a diagnostic at the template's file and line.
    pub fn diagnose(&self, template: &str, err: &tera::Error) -> Diagnostic {
        let mut chain = vec![err.to_string()];
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            chain.push(s.to_string());
            source = s.source();
        }
        let all = chain.join("\n");
        // The innermost template named in the chain is the one at fault.
        let quoted = regex::Regex::new(r"'([^']+)'").ok();
        let named = quoted
            .as_ref()
            .and_then(|re| {
                chain.iter().rev().find_map(|m| {
                    re.captures_iter(m)
                        .filter_map(|c| c.get(1).map(|g| g.as_str().to_string()))
                        .find(|n| self.origins.contains_key(n))
                })
            })
            .unwrap_or_else(|| template.to_string());
        let origin = self.origins.get(&named);
        let file = origin.map_or(named.clone(), |o| o.rel.clone());
        let offset = origin.map_or(0, |o| o.line_offset);
        let position = regex::Regex::new(r"--> (\d+):(\d+)").ok().and_then(|re| {
            re.captures(&all)
                .map(|c| (c[1].parse().unwrap_or(1), c[2].parse().unwrap_or(1)))
        });
        let detail = chain
            .last()
            .map(|m| {
                m.lines()
                    .map(str::trim)
                    .find(|l| l.starts_with("= "))
                    .map_or_else(
                        || m.lines().next().unwrap_or("").to_string(),
                        |l| l[2..].to_string(),
                    )
            })
            .unwrap_or_default();
        let mut d = Diagnostic::new(file, format!("template error: {detail}"));
        match position {
            Some((line, col)) => d = d.at(line + offset, col),
            None => {
                // Render errors carry no position: find the variable's first use.
                let var = regex::Regex::new(r"`([^`]+)`")
                    .ok()
                    .and_then(|re| re.captures(&detail).map(|c| c[1].to_string()));
                if let (Some(var), Some(o)) = (var, origin) {
                    if let Some(i) = o.text.lines().position(|l| l.contains(&var)) {
                        d = d.at_line(i + 1 + offset);
                    }
                }
            }
        }
        d.hint("layouts are Tera templates: see https://keats.github.io/tera/docs/; undefined values need `| default(value=\"\")`")
    }
}

/// Templates that include, extend or import each other in a circle.
fn include_loops(origins: &HashMap<String, Origin>, engine: Engine) -> Vec<Diagnostic> {
    let mut graph = Graph::default();
    for (name, origin) in origins {
        let references = match engine {
            Engine::Liquid if !name.starts_with("galley/") => {
                cycles::liquid_references(&origin.text)
            }
            _ => cycles::tera_references(&origin.text),
        };
        for (to, line, column) in references {
            if origins.contains_key(&to) {
                let step = Step {
                    to,
                    file: origin.rel.clone(),
                    line: line + origin.line_offset,
                    column,
                };
                graph.add(name, step);
            }
        }
    }
    graph
        .loops()
        .iter()
        .map(|cycle| {
            cycles::diagnose(
                cycle,
                "include",
                "templates include each other in a circle, which would never finish: remove the include that closes it",
            )
        })
        .collect()
}

/// Template names taken so far and where each came from; a second claim is a clash.
#[derive(Default)]
struct Names {
    owners: HashMap<String, String>,
    origins: HashMap<String, Origin>,
    clashes: Vec<Diagnostic>,
}

/// Registers `file` (a template name) as coming from `rel`, for messages at file lines.
fn claim(names: &mut Names, file: &str, rel: &str, line_offset: usize, text: &str) {
    if let Some(other) = names.owners.insert(file.to_string(), rel.to_string()) {
        names.clashes.push(clash(rel, &other));
    }
    let origin = Origin {
        rel: rel.to_string(),
        line_offset,
        text: text.to_string(),
    };
    names.origins.insert(file.to_string(), origin);
}

/// A template file's text; a failure is collected so the other templates are still checked.
fn read(path: &std::path::Path, problems: &mut Diagnostics) -> Option<String> {
    crate::error::read_text(path)
        .map_err(|d| problems.push(d))
        .ok()
}

fn clash(a: &str, b: &str) -> Diagnostic {
    Diagnostic::new(a, format!("template name clashes with {b}"))
        .hint("layouts and includes share one namespace; rename one of the two files")
}
