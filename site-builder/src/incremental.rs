//! Rebuilds for `galley serve`: keep the last good build and redo only what the saved files
//! change. A post or page edit re-renders that document, its neighbours (`page.previous`,
//! `page.next`) and the pages that show it (home pages, its terms' pages, anything reading
//! `site.posts`), plus the feed; a layout edit re-renders the pages rendered through it.
//! Anything else (`_config.yml`, data, includes, Sass partials, added or removed files, a post
//! whose date, URL, tags or categories moved) rebuilds everything. Either way the bytes are
//! the ones a full build gives, which the tests check.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use crate::build::{render_state, site_context, BuildOptions, State};
use crate::discover::Role;
use crate::document::{self, Document};
use crate::error::{BuildError, Result};
use crate::lists::{patch_site, Lists, Reads};
use crate::output::{Body, OutputFile, RenderedSite};
use crate::plan;
use crate::render::{self, Converted, Job};
use crate::templates::Templates;
use crate::Diagnostic;

/// A site kept in memory between rebuilds.
pub struct Session {
    /// The last good build; `None` once a rebuild failed halfway, so the next one is full.
    state: Option<State>,
    root: std::path::PathBuf,
    options: BuildOptions,
    /// Changed paths a failed rebuild did not take in; the next rebuild takes them again.
    pending: BTreeSet<String>,
}

/// What a rebuild did.
#[derive(Debug, Clone)]
pub struct Update {
    /// Why everything was rebuilt, or `None` when only some pages were.
    pub full: Option<String>,
    /// Output paths whose bytes may have changed (every path after a full rebuild).
    pub changed: Vec<String>,
    /// Output paths the site no longer has.
    pub removed: Vec<String>,
}

impl Session {
    /// Builds the whole site once.
    pub fn start(root: &Path, options: &BuildOptions) -> Result<Session> {
        let (state, _) = render_state(root, options)?;
        Ok(Session {
            state: Some(state),
            root: root.to_path_buf(),
            options: options.clone(),
            pending: BTreeSet::new(),
        })
    }

    /// What the last good build let through that an author may want to fix (unknown Liquid
    /// filters, plugins Galley lacks), as `build` prints them.
    pub fn warnings(&self) -> Vec<String> {
        self.state
            .as_ref()
            .map(|s| s.warnings())
            .unwrap_or_default()
    }

    /// The last good build.
    pub fn site(&self) -> Option<&RenderedSite> {
        self.state.as_ref().map(|s| &s.site)
    }

    /// Takes in saved files (paths relative to the site, `/`-separated). On an error the
    /// last good build stays and the paths are tried again with the next rebuild.
    pub fn rebuild(&mut self, changed: &[String]) -> Result<Update> {
        self.pending.extend(changed.iter().cloned());
        let paths: Vec<String> = self.pending.iter().cloned().collect();
        let step = match &self.state {
            Some(state) => classify(state, &paths),
            None => Step::Full("the previous rebuild failed".into()),
        };
        // A bug of ours must not take the preview down: a panic while rebuilding is an error
        // like any other, and the next save builds everything afresh.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.apply(step)))
            .unwrap_or_else(|panic| {
                self.state = None;
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown cause".into());
                Err(BuildError::from(
                    Diagnostic::new(&self.root, format!("internal error while rebuilding: {what}"))
                        .hint("the last good build is still served; save again to rebuild everything, and please report this"),
                ))
            });
        if result.is_ok() {
            self.pending.clear();
        }
        result
    }

    fn apply(&mut self, step: Step) -> Result<Update> {
        match step {
            Step::Full(reason) => self.full(reason),
            Step::Partial(changes) => {
                let state = self.state.as_mut().ok_or_else(|| {
                    BuildError::from(Diagnostic::new(&self.root, "no build to update"))
                })?;
                match partial(state, &changes) {
                    Ok(Outcome::Done(update)) => Ok(update),
                    Ok(Outcome::NeedsFull(reason)) => self.full(reason),
                    Err(Failure { error, state_ok }) => {
                        if !state_ok {
                            self.state = None;
                        }
                        Err(error.under_site(&self.root))
                    }
                }
            }
        }
    }

    fn full(&mut self, reason: String) -> Result<Update> {
        let (state, _) = render_state(&self.root, &self.options)?;
        let removed = self
            .state
            .as_ref()
            .map(|old| {
                old.site
                    .files
                    .keys()
                    .filter(|k| !state.site.files.contains_key(*k))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let changed = state.site.files.keys().cloned().collect();
        self.state = Some(state);
        Ok(Update {
            full: Some(reason),
            changed,
            removed,
        })
    }
}

enum Step {
    Full(String),
    Partial(Changes),
}

#[derive(Default)]
struct Changes {
    /// (index in `docs`, index in `sources`)
    docs: Vec<(usize, usize)>,
    statics: Vec<String>,
    /// Template names (`post.html`) of edited layouts.
    layouts: HashSet<String>,
}

/// Which saved paths the kept build can take in alone, or why it cannot.
fn classify(state: &State, paths: &[String]) -> Step {
    let mut changes = Changes::default();
    for rel in paths {
        if !rel.contains('/') && rel.starts_with("_config") {
            return Step::Full(format!("{rel} changed"));
        }
        let abs = state.root.join(rel);
        let Some(si) = state.sources.files.iter().position(|s| &s.rel == rel) else {
            if abs.exists() {
                return Step::Full(format!("{rel} is new"));
            }
            let folder = format!("{rel}/");
            if state
                .sources
                .files
                .iter()
                .any(|s| s.rel.starts_with(&folder))
            {
                return Step::Full(format!("{rel} was removed"));
            }
            // Created and removed again (an editor's probe file): the site never had it.
            continue;
        };
        if !abs.is_file() {
            return Step::Full(format!("{rel} was removed"));
        }
        match state.sources.files[si].role {
            Role::Post | Role::Draft | Role::Page => {
                match state.docs.iter().position(|d| &d.rel == rel) {
                    Some(di) => changes.docs.push((di, si)),
                    None => return Step::Full(format!("{rel} was left out before")),
                }
            }
            Role::Static => {
                if state
                    .docs
                    .iter()
                    .any(|d| d.body.contains("include_relative"))
                {
                    return Step::Full(format!("{rel} changed and pages include files"));
                }
                changes.statics.push(rel.clone());
            }
            Role::Layout => {
                changes
                    .layouts
                    .insert(rel.trim_start_matches("_layouts/").to_string());
            }
            Role::Include | Role::Data => return Step::Full(format!("{rel} changed")),
        }
    }
    Step::Partial(changes)
}

struct Failure {
    error: BuildError,
    /// False when the kept build was changed before the error and is no longer whole.
    state_ok: bool,
}

fn kept(error: impl Into<BuildError>) -> Failure {
    Failure {
        error: error.into(),
        state_ok: true,
    }
}

fn broken(error: impl Into<BuildError>) -> Failure {
    Failure {
        error: error.into(),
        state_ok: false,
    }
}

/// What a summary derives from the post's text.
const TEXT_KEYS: [&str; 5] = ["content", "excerpt", "word_count", "reading_time", "toc"];

/// Two post summaries that differ at most in what derives from the post's text.
fn same_but_text(old: &serde_json::Value, new: &serde_json::Value) -> bool {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return false;
    };
    let text = |k: &String| TEXT_KEYS.contains(&k.as_str());
    old.len() == new.len() && old.iter().all(|(k, v)| text(k) || new.get(k) == Some(v))
}

/// Whether content may show the posts' text: by name, so it errs towards yes (an include
/// or a filter that prints whole posts counts).
fn may_read_text(body: &str) -> bool {
    TEXT_KEYS
        .iter()
        .chain(&["include", "jsonify", "inspect", "{{ post }}", "{{post}}"])
        .any(|word| body.contains(word))
}

/// What in a layout may show another post's text (its content, excerpt, word count): by
/// name, erring towards yes. A layout's own `{{ content }}` is the page's, not a listed
/// post's, so it does not count; `post.content` does.
const SHOWS_TEXT: [&str; 11] = [
    ".content",
    "\"content\"",
    "'content'",
    "excerpt",
    "word_count",
    "reading_time",
    ".toc",
    "jsonify",
    "json_encode",
    "inspect",
    "{{ post }}",
];

/// A document read again, and what it renders to.
struct Edited {
    index: usize,
    doc: Document,
    converted: Converted,
    reads: Reads,
}

enum Outcome {
    Done(Update),
    /// The change reaches further than a partial rebuild follows; the reason says how.
    NeedsFull(String),
}

/// Why a partial rebuild stops short: the change reaches further than it follows (the
/// reason says how), or it failed.
enum Stop {
    Full(String),
    Failed(Failure),
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Stop {
        Stop::Failed(f)
    }
}

/// What an edit touched once it is taken in.
struct Touched {
    /// Documents rendered anew.
    all: HashSet<usize>,
    changed_posts: Vec<usize>,
    /// Collection documents among them (their feeds change with them).
    changed_documents: usize,
    /// The posts' list (as the site's content reads it) changed.
    posts_changed: bool,
    /// The pages' list changed.
    pages_changed: bool,
    /// Every changed post changed only its text: pages that list it or link to it show
    /// the same title, URL and date as before.
    text_only: bool,
}

impl Touched {
    /// Whether content or a layout that reads `r` saw a changed list.
    fn reads_changed(&self, r: Reads) -> bool {
        (self.posts_changed && r.post_summaries()) || (self.pages_changed && r.pages)
    }
}

/// Takes in `changes`, or finds that they need a full build after all.
fn partial(state: &mut State, changes: &Changes) -> std::result::Result<Outcome, Failure> {
    // Everything fallible that the author's edit can cause comes first, while the kept build
    // is untouched: reading the files, Liquid and markdown, template syntax.
    let prepared = reload_layouts(state, changes)
        .and_then(|templates| Ok((templates, read_edits(state, changes)?)));
    let (templates, edited) = match prepared {
        Ok(p) => p,
        Err(Stop::Full(reason)) => return Ok(Outcome::NeedsFull(reason)),
        Err(Stop::Failed(f)) => return Err(f),
    };
    // From here on the kept build changes; an error leaves it to a full rebuild.
    let mutated = !edited.is_empty();
    let touched = take_in(state, edited)?;
    let mut changed = render_touched(state, changes, templates, &touched, mutated)?;
    refresh_feeds(state, &touched, &mut changed)?;
    changed.extend(changes.statics.iter().cloned());
    Ok(Outcome::Done(Update {
        full: None,
        changed,
        removed: Vec::new(),
    }))
}

/// The layouts again when one was edited, if they still have the same names, chains and
/// list reads (else the change needs a full build).
fn reload_layouts(
    state: &State,
    changes: &Changes,
) -> std::result::Result<Option<Templates>, Stop> {
    Ok(if changes.layouts.is_empty() {
        None
    } else {
        let t = Templates::load(&state.sources, &state.filters, &state.config).map_err(kept)?;
        let wants = plan::wants(&t, &state.index.doc_reads);
        if t.theme != state.templates.theme || t.layout_names() != state.templates.layout_names() {
            return Err(Stop::Full("a layout's name or chain changed".into()));
        }
        if wants != state.index.wants {
            return Err(Stop::Full(
                "a layout now reads other site-wide lists".into(),
            ));
        }
        Some(t)
    })
}

/// Each edited document read and converted again, if it stays where it was and reads no
/// other lists.
fn read_edits(state: &State, changes: &Changes) -> std::result::Result<Vec<Edited>, Stop> {
    let includes = state.templates.include_reads();
    let mut edited = Vec::with_capacity(changes.docs.len());
    for &(index, si) in &changes.docs {
        let source = &state.sources.files[si];
        let moved = || Stop::Full(format!("{} moved or changed its terms", source.rel));
        let Some(doc) = document::load(source, &state.config).map_err(kept)? else {
            return Err(moved());
        };
        if !same_place(&state.docs[index], &doc) || !selected(state, &doc) {
            return Err(moved());
        }
        if let document::Collection::Named(label) = doc.collection {
            // `site.<label>` lists it: rebuilt whole (collections are small, and rare).
            return Err(Stop::Full(format!(
                "{} is in the `{label}` collection",
                source.rel
            )));
        }
        let reads = plan::body_reads(&doc.body, &includes);
        if reads.union(state.index.wants) != state.index.wants {
            return Err(Stop::Full(format!(
                "{} now reads other site-wide lists",
                source.rel
            )));
        }
        let converted = render::convert(&doc, &state.inputs(&state.meta)).map_err(kept)?;
        edited.push(Edited {
            index,
            doc,
            converted,
            reads,
        });
    }
    Ok(edited)
}

/// Puts the edited documents in the kept build, re-converts the content that reads the
/// lists they changed, and patches `site` with their new summaries.
fn take_in(state: &mut State, edited: Vec<Edited>) -> std::result::Result<Touched, Failure> {
    let posts = state.index.posts;
    let wants = state.index.wants;
    let mut touched: HashSet<usize> = HashSet::new();
    // Whether every edited post changed only its text: then content that reads the posts'
    // lists but never their text (a sitemap, an archive of titles) stays as it was.
    let mut text_only = true;
    for e in &edited {
        let i = e.index;
        text_only &= i < posts
            && state.summaries.get(i).is_some_and(|old| {
                let new = plan::summary(
                    &e.doc,
                    Some(&e.converted),
                    plan::layouts_show_content(&state.templates),
                );
                same_but_text(old, &new)
            });
    }
    for e in edited {
        let i = e.index;
        state.docs[i] = e.doc;
        state.converted[i] = e.converted;
        state.index.doc_reads[i] = e.reads;
        touched.insert(i);
    }
    let posts_changed = wants.post_summaries() && touched.iter().any(|&i| i < posts);
    let pages_changed = wants.pages && touched.iter().any(|&i| i >= posts);
    let reads_changed =
        move |r: Reads| (posts_changed && r.post_summaries()) || (pages_changed && r.pages);
    for &i in &touched {
        patch_meta(state, i);
    }
    // Content that reads the changed lists saw the old entries: render it again.
    let readers: Vec<usize> = (0..state.docs.len())
        .filter(|&j| reads_changed(state.index.doc_reads[j]))
        .filter(|&j| !text_only || may_read_text(&state.docs[j].body))
        .collect();
    let reading: Vec<&Document> = readers.iter().map(|&j| &state.docs[j]).collect();
    let converted = render::convert_some(&reading, &state.inputs(&state.meta)).map_err(broken)?;
    for (&j, c) in readers.iter().zip(converted) {
        state.converted[j] = c;
        touched.insert(j);
    }
    let changed_posts: Vec<usize> = touched.iter().copied().filter(|&i| i < posts).collect();
    // Collection documents follow the posts (their feeds change with them).
    let changed_documents = touched
        .iter()
        .filter(|&&i| i >= posts && i < posts + state.index.documents)
        .count();
    let mut site_value = state.base.remove("site").unwrap_or_default();
    for &i in &changed_posts {
        state.summaries[i] = plan::summary(
            &state.docs[i],
            Some(&state.converted[i]),
            plan::layouts_show_content(&state.templates),
        );
        if wants.post_summaries() {
            patch_site(&mut site_value, Some(i), None, &state.summaries[i]);
        }
    }
    let pages_start = posts + state.index.documents;
    for &i in touched.iter().filter(|&&i| i >= pages_start) {
        if wants.pages {
            let page = plan::summary(&state.docs[i], None, false);
            patch_site(&mut site_value, None, Some(i - pages_start), &page);
        }
    }
    state.base.extend(site_context(site_value));
    Ok(Touched {
        all: touched,
        changed_posts,
        changed_documents,
        posts_changed,
        pages_changed,
        text_only,
    })
}

/// Plans every page (cheap), renders the ones the change shows on, and puts them in the
/// kept site; returns their paths.
fn render_touched(
    state: &mut State,
    changes: &Changes,
    templates: Option<Templates>,
    touched: &Touched,
    mutated: bool,
) -> std::result::Result<Vec<String>, Failure> {
    let new_tools = match &templates {
        Some(t) => crate::build::liquid_tools(&state.root, &state.config, t, &state.index),
        None => state.tools.clone(),
    };
    let mut base = std::mem::take(&mut state.base);
    let rendered = {
        let view = state.view();
        let templates = templates.as_ref().unwrap_or(&state.templates);
        let empty = Converted::default();
        let plan = view.jobs(&state.converted, &state.layouts, &state.generated, &empty);
        let lists = state.lists();
        let mut jobs = pages_showing(plan.jobs, state, templates, changes, touched, &lists);
        let liquid = new_tools.as_ref().map(|tools| render::Liquid {
            tools,
            jekyll: &state.jekyll,
            markdown: crate::markdown::Style::of(&state.config),
            mentions: crate::jekyll::mentions::base_url(&state.config),
            emoji: crate::jekyll::emoji::source(&state.config),
        });
        render::layout_all(
            &mut jobs,
            templates,
            render::Base::Reusable(&mut base),
            &lists,
            liquid.as_ref(),
            None,
        )
        .map(|pages| {
            jobs.iter()
                .zip(pages)
                .map(|(j, bytes)| (j.output.to_string(), j.doc.rel.clone(), bytes))
                .collect::<Vec<_>>()
        })
    };
    state.base = base;
    let rendered = rendered.map_err(|e| if mutated { broken(e) } else { kept(e) })?;
    if let Some(t) = templates {
        state.templates = t;
        state.tools = new_tools;
    }

    let mut changed = Vec::with_capacity(rendered.len() + 2);
    for (output, origin, bytes) in rendered {
        state.site.files.insert(
            output.clone(),
            OutputFile {
                body: Body::Bytes(bytes),
                origin,
            },
        );
        changed.push(output);
    }
    Ok(changed)
}

/// The pages a change shows on: the touched documents, the posts beside a touched post
/// (they show its title and URL), pages whose layout reads a changed list or was edited,
/// and list pages that show a changed post.
fn pages_showing<'j>(
    jobs: Vec<Job<'j>>,
    state: &State,
    templates: &Templates,
    changes: &Changes,
    touched: &Touched,
    lists: &Lists,
) -> Vec<Job<'j>> {
    let posts = state.index.posts;
    let mut hit = vec![false; state.docs.len()];
    for &i in &touched.all {
        hit[i] = true;
    }
    let post_hit = |i: usize| i < posts && hit[i];
    let reading = layouts_reading(&state.templates, &jobs, |r| touched.reads_changed(r));
    // After a text-only edit, a page beside the post or listing it changes only if its
    // layout shows posts' text.
    let mut shows_text: HashMap<&'j str, bool> = HashMap::new();
    let mut shows_text = |layout: Option<&'j str>| {
        !touched.text_only
            || layout.is_some_and(|l| {
                *shows_text
                    .entry(l)
                    .or_insert_with(|| templates.layout_mentions(l, &SHOWS_TEXT))
            })
    };
    let edited_layouts = |l: &str| {
        !changes.layouts.is_empty()
            && (templates.layout_uses(l, &changes.layouts)
                || state.templates.layout_uses(l, &changes.layouts))
    };
    jobs.into_iter()
        .filter(|job| {
            let neighbour =
                |i: usize| i < posts && (post_hit(i + 1) || i.checked_sub(1).is_some_and(post_hit));
            job.index.is_some_and(|i| hit[i])
                || job
                    .layout
                    .is_some_and(|l| reading.contains(&l) || edited_layouts(l))
                || ((job.index.is_some_and(neighbour)
                    || touched
                        .changed_posts
                        .iter()
                        .any(|&i| lists.shows_post(&job.extra, i)))
                    && shows_text(job.layout))
        })
        .collect()
}

/// The feeds that list the changed posts (on a Jekyll site, also its collections' changed
/// documents), made again as the build makes them (`Site::feeds`), where the build made them.
fn refresh_feeds(
    state: &mut State,
    touched: &Touched,
    changed: &mut Vec<String>,
) -> std::result::Result<(), Failure> {
    // jekyll-feed writes feeds of collections too; Galley's feed lists posts only.
    let listed = if state.config.jekyll {
        touched.changed_posts.len() + touched.changed_documents
    } else {
        touched.changed_posts.len()
    };
    if listed == 0 {
        return Ok(());
    }
    let feeds = state.view().feeds(&state.converted).map_err(broken)?;
    for feed in feeds {
        let generated = format!("(generated) {}", feed.origin);
        if let Some(f) = state.site.files.get_mut(&feed.path) {
            if f.origin == generated {
                f.body = Body::Bytes(feed.xml);
                changed.push(feed.path);
            }
        }
    }
    Ok(())
}

/// Replaces document `i`'s entry in the `site` that Liquid in content sees.
fn patch_meta(state: &mut State, i: usize) {
    let posts = state.index.posts;
    let pages_start = posts + state.index.documents;
    let wants = state.index.wants;
    if i < posts && wants.post_summaries() {
        // As the build made it: a Liquid site's posts carry their content and excerpt.
        let entry = plan::summary(
            &state.docs[i],
            Some(&state.converted[i]),
            state.tools.is_some(),
        );
        patch_site(&mut state.meta, Some(i), None, &entry);
    } else if i >= pages_start && wants.pages {
        let entry = plan::summary(&state.docs[i], None, false);
        patch_site(&mut state.meta, None, Some(i - pages_start), &entry);
    }
}

/// Layouts whose pages read lists that changed (a handful: a list beats hashing per page).
fn layouts_reading<'a>(
    templates: &Templates,
    jobs: &[Job<'a>],
    changed: impl Fn(Reads) -> bool,
) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for l in jobs.iter().filter_map(|j| j.layout) {
        if !names.contains(&l) {
            names.push(l);
        }
    }
    names.retain(|l| changed(templates.layout_reads(l)));
    names
}

/// Whether a re-read document still sits where it did: same URL and output, same place among
/// the posts (and in the pager), same terms and sitemap entry. Then only its own pages and
/// lists change.
fn same_place(old: &Document, new: &Document) -> bool {
    let sitemap_keys = ["sitemap", "last_modified_at"];
    old.url == new.url
        && old.output == new.output
        && old.collection == new.collection
        && old.format == new.format
        && old.date == new.date
        && old.draft == new.draft
        && old.hidden == new.hidden
        && old.layout == new.layout
        && old.tags == new.tags
        && old.categories == new.categories
        && sitemap_keys
            .iter()
            .all(|k| old.front.get(*k) == new.front.get(*k))
}

/// Whether the build's selection (drafts, future posts) still takes the document.
fn selected(state: &State, doc: &Document) -> bool {
    let select = state.options.selection();
    let future = select.future || state.config.future;
    (select.drafts || !doc.draft)
        && (future || !doc.is_post() || doc.date.is_none_or(|date| date <= select.now))
}
