//! Markdown to HTML with pulldown-cmark: GitHub-style extensions, heading ids, a table of
//! contents, and code blocks highlighted at build time.

use std::collections::HashMap;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::highlight;
use crate::kramdown;
use crate::slug::heading_id;

/// A heading, for the table of contents.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TocEntry {
    pub level: u8,
    pub id: String,
    pub title: String,
}

/// A heading whose text is still being read: level, id, classes, attributes.
type OpenHeading<'a> = (
    HeadingLevel,
    Option<CowStr<'a>>,
    Vec<CowStr<'a>>,
    Vec<(CowStr<'a>, Option<CowStr<'a>>)>,
);

#[derive(Debug, Default)]
pub struct Rendered {
    pub html: String,
    pub toc: Vec<TocEntry>,
}

/// How Markdown renders for a site: typographic quotes, and code blocks in kramdown's shape
/// for Jekyll sites (a `highlighter-rouge` wrapper, optional line numbers) or Galley's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    pub smart_punctuation: bool,
    /// kramdown's HTML (Jekyll sites): code blocks as Rouge wraps them, footnotes at the end.
    pub kramdown: bool,
    /// `kramdown: syntax_highlighter_opts: block: line_numbers: true`.
    pub line_numbers: bool,
}

impl Style {
    pub fn of(config: &crate::config::Config) -> Style {
        let line_numbers = config
            .extra
            .get("kramdown")
            .and_then(|k| k.get("syntax_highlighter_opts"))
            .and_then(|o| o.get("block"))
            .and_then(|b| b.get("line_numbers"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        Style {
            smart_punctuation: config.smart_punctuation,
            kramdown: config.jekyll,
            line_numbers: config.jekyll && line_numbers,
        }
    }
}

/// kramdown's footnotes: references numbered in the order of first use, the notes listed
/// at the end of the document with a link back, in the markup Jekyll themes style.
#[derive(Default)]
struct Footnotes<'a> {
    /// Labels, by number.
    order: Vec<String>,
    /// The definition being read: its label and events.
    open: Option<(String, Vec<Event<'a>>)>,
    defs: HashMap<String, Vec<Event<'a>>>,
}

impl<'a> Footnotes<'a> {
    fn reference(&mut self, label: &str) -> String {
        let n = match self.order.iter().position(|l| l == label) {
            Some(i) => i + 1,
            None => {
                self.order.push(label.to_string());
                self.order.len()
            }
        };
        let l = highlight::escape(label);
        format!(
            "<sup id=\"fnref:{l}\" role=\"doc-noteref\"><a href=\"#fn:{l}\" class=\"footnote\" rel=\"footnote\">{n}</a></sup>"
        )
    }

    fn push(&mut self, event: Event<'a>) {
        if let Some((_, events)) = self.open.as_mut() {
            events.push(event);
        }
    }

    fn close(&mut self) {
        if let Some((label, events)) = self.open.take() {
            self.defs.insert(label, events);
        }
    }

    /// The notes that were referenced, in order; definitions never referenced are left
    /// out, as kramdown leaves them.
    fn append_to(mut self, html: &mut String) {
        if self.order.is_empty() {
            return;
        }
        html.push_str("<div class=\"footnotes\" role=\"doc-endnotes\">\n  <ol>\n");
        for label in &self.order {
            let Some(events) = self.defs.remove(label) else {
                continue;
            };
            let l = highlight::escape(label);
            let mut note = String::new();
            pulldown_cmark::html::push_html(&mut note, events.into_iter());
            let back = format!(
                " <a href=\"#fnref:{l}\" class=\"reversefootnote\" role=\"doc-backlink\">&#8617;</a>"
            );
            match note.rfind("</p>") {
                Some(at) => note.insert_str(at, &back),
                None => note.push_str(&back),
            }
            html.push_str(&format!(
                "    <li id=\"fn:{l}\" role=\"doc-endnote\">\n{note}    </li>\n"
            ));
        }
        html.push_str("  </ol>\n</div>\n");
    }
}

/// Text with kramdown's guillemets (`<<`, `>>`) when typography is on, and the document's
/// abbreviations marked with `<abbr>`.
fn typography<'a>(text: CowStr<'a>, smart: bool, abbreviations: &[(String, String)]) -> Event<'a> {
    let text: CowStr = if smart && (text.contains("<<") || text.contains(">>")) {
        text.replace("<<", "\u{ab}").replace(">>", "\u{bb}").into()
    } else {
        text
    };
    if abbreviations.is_empty() {
        return Event::Text(text);
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut html = String::with_capacity(text.len() + 32);
    let mut plain = 0;
    let mut i = 0;
    let mut found = false;
    while i < text.len() {
        let rest = &text[i..];
        let hit = abbreviations.iter().find(|(abbr, _)| {
            rest.starts_with(abbr.as_str())
                && !word(text[..i].chars().next_back())
                && !word(rest[abbr.len()..].chars().next())
        });
        match hit {
            Some((abbr, title)) => {
                html.push_str(&highlight::escape_text(&text[plain..i]));
                html.push_str(&format!(
                    "<abbr title=\"{}\">{}</abbr>",
                    highlight::escape(title),
                    highlight::escape_text(abbr)
                ));
                i += abbr.len();
                plain = i;
                found = true;
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    if !found {
        return Event::Text(text);
    }
    html.push_str(&highlight::escape_text(&text[plain..]));
    Event::Html(html.into())
}

pub fn options(smart_punctuation: bool) -> Options {
    let mut o = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_DEFINITION_LIST;
    if smart_punctuation {
        o |= Options::ENABLE_SMART_PUNCTUATION;
    }
    o
}

pub fn render(body: &str, style: Style) -> Rendered {
    let abbreviations = kramdown::abbreviations(body);
    let body = kramdown::preprocess(body);
    let mut notes = Footnotes::default();
    let parser = Parser::new_ext(&body, options(style.smart_punctuation));
    let mut events: Vec<Event> = Vec::new();
    let mut headings = Headings::default();
    let mut code: Option<(Option<String>, String)> = None;

    for event in parser {
        if let Some((_, buf)) = code.as_mut() {
            match event {
                Event::Text(t) => buf.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    let (lang, text) = code.take().unwrap_or_default();
                    events.push(Event::Html(
                        code_block(&text, lang.as_deref(), style).into(),
                    ));
                }
                _ => {}
            }
            continue;
        }
        if headings.open.is_some() {
            headings.take(event, &mut events);
            continue;
        }
        match event {
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => {
                headings.open = Some((level, id, classes, attrs));
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                code = Some((fence_language(kind), String::new()))
            }
            ev if notes.open.is_some() && !matches!(ev, Event::End(TagEnd::FootnoteDefinition)) => {
                notes.push(ev)
            }
            Event::Text(text) if style.smart_punctuation || !abbreviations.is_empty() => {
                // The parser splits text at `<`; `<<` must be seen whole.
                let text = match events.last() {
                    Some(Event::Text(previous)) => {
                        let joined: CowStr = format!("{previous}{text}").into();
                        events.pop();
                        joined
                    }
                    _ => text,
                };
                events.push(typography(text, style.smart_punctuation, &abbreviations));
            }
            Event::FootnoteReference(label) if style.kramdown => {
                events.push(Event::Html(notes.reference(&label).into()));
            }
            Event::Start(Tag::FootnoteDefinition(label)) if style.kramdown => {
                notes.open = Some((label.to_string(), Vec::new()));
            }
            Event::End(TagEnd::FootnoteDefinition) if style.kramdown => notes.close(),
            // kramdown with rouge marks inline code this way, and themes style it so.
            Event::Code(text) => events.push(Event::Html(
                format!(
                    "<code class=\"language-plaintext highlighter-rouge\">{}</code>",
                    highlight::escape_text(&text)
                )
                .into(),
            )),
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(body.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    notes.append_to(&mut html);
    if html.contains("<!--galley-") {
        html = kramdown::apply_attribute_lists(&html);
    }
    if html.contains(kramdown::TOC_MARKER) {
        html = html.replace(kramdown::TOC_MARKER, &toc_html(&headings.toc));
    }
    Rendered {
        html,
        toc: headings.toc,
    }
}

/// A fenced block's language: the info string's first word.
fn fence_language(kind: CodeBlockKind) -> Option<String> {
    match kind {
        CodeBlockKind::Fenced(info) => info
            .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
            .next()
            .filter(|l| !l.is_empty())
            .map(str::to_string),
        CodeBlockKind::Indented => None,
    }
}

/// A code block, highlighted as kramdown with rouge writes it (or Galley's own way).
fn code_block(text: &str, lang: Option<&str>, style: Style) -> String {
    if style.kramdown {
        highlight::kramdown_block(text, lang, style.line_numbers)
    } else {
        highlight::block(text, lang)
    }
}

/// Headings as they are read: the open one's tag, events and text, the ids given so far
/// (each made unique), and the table of contents.
#[derive(Default)]
struct Headings<'a> {
    open: Option<OpenHeading<'a>>,
    inside: Vec<Event<'a>>,
    text: String,
    used: HashMap<String, usize>,
    toc: Vec<TocEntry>,
}

impl<'a> Headings<'a> {
    /// Takes an event inside the open heading; at its end, writes the heading with its id
    /// into `events` and lists it in the table of contents.
    fn take(&mut self, event: Event<'a>, events: &mut Vec<Event<'a>>) {
        match event {
            Event::End(TagEnd::Heading(_)) => {
                let (level, id, classes, attrs) =
                    self.open
                        .take()
                        .unwrap_or((HeadingLevel::H1, None, vec![], vec![]));
                let base = id
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| heading_id(&self.text));
                let id = unique_id(&mut self.used, base);
                self.toc.push(TocEntry {
                    level: level as u8,
                    id: id.clone(),
                    title: self.text.trim().to_string(),
                });
                events.push(Event::Start(Tag::Heading {
                    level,
                    id: Some(id.into()),
                    classes,
                    attrs,
                }));
                events.append(&mut self.inside);
                events.push(Event::End(TagEnd::Heading(level)));
                self.text.clear();
            }
            Event::Text(ref t) | Event::Code(ref t) => {
                self.text.push_str(t);
                self.inside.push(event);
            }
            other => self.inside.push(other),
        }
    }
}

fn unique_id(used: &mut HashMap<String, usize>, base: String) -> String {
    let n = used.entry(base.clone()).or_insert(0);
    *n += 1;
    if *n == 1 {
        base
    } else {
        format!("{base}-{}", *n - 1)
    }
}

/// The table of contents as nested lists, for headings h2 to h4 (h1 is the page title).
pub fn toc_html(entries: &[TocEntry]) -> String {
    let entries: Vec<&TocEntry> = entries
        .iter()
        .filter(|e| (2..=4).contains(&e.level))
        .collect();
    if entries.is_empty() {
        return String::new();
    }
    let base = entries.iter().map(|e| e.level).min().unwrap_or(2);
    let mut out = String::from("<ul class=\"toc\">");
    let mut depth = 0usize;
    let mut open_item = false;
    for e in entries {
        let want = (e.level - base) as usize;
        while depth < want {
            out.push_str("<ul>");
            depth += 1;
            open_item = false;
        }
        while depth > want {
            out.push_str("</li></ul>");
            depth -= 1;
        }
        if open_item {
            out.push_str("</li>");
        }
        out.push_str("<li><a href=\"#");
        out.push_str(&highlight::escape(&e.id));
        out.push_str("\">");
        out.push_str(&highlight::escape(&e.title));
        out.push_str("</a>");
        open_item = true;
    }
    while depth > 0 {
        out.push_str("</li></ul>");
        depth -= 1;
    }
    out.push_str("</li></ul>");
    out
}

/// The first paragraph of rendered HTML, Jekyll's default excerpt.
pub fn first_paragraph(html: &str) -> &str {
    let Some(start) = html.find("<p>") else {
        return "";
    };
    match html[start..].find("</p>") {
        Some(end) => &html[start..start + end + 4],
        None => &html[start..],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMART: Style = Style {
        smart_punctuation: true,
        kramdown: false,
        line_numbers: false,
    };

    #[test]
    fn headings_get_unique_ids_and_toc() {
        let r = render(
            "## Intro\n\ntext\n\n## Intro\n\n### Deep `code`\n",
            Style::default(),
        );
        assert!(r.html.contains("<h2 id=\"intro\">Intro</h2>"), "{}", r.html);
        assert!(r.html.contains("<h2 id=\"intro-1\">"));
        assert!(r.html.contains("<h3 id=\"deep-code\">"));
        assert_eq!(r.toc.len(), 3);
        let toc = toc_html(&r.toc);
        assert_eq!(
            toc,
            "<ul class=\"toc\"><li><a href=\"#intro\">Intro</a></li><li><a href=\"#intro-1\">Intro</a><ul><li><a href=\"#deep-code\">Deep code</a></li></ul></li></ul>"
        );
    }

    #[test]
    fn extensions() {
        let r = render(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~\n\n- [x] done\n\nnote[^1]\n\n[^1]: foot\n",
            SMART,
        );
        assert!(r.html.contains("<table>"));
        assert!(r.html.contains("<del>gone</del>"));
        assert!(r.html.contains("type=\"checkbox\""));
        assert!(r.html.contains("footnote"));
    }

    #[test]
    fn fenced_code_is_highlighted() {
        let r = render("```rust\nlet x = 1;\n```\n", Style::default());
        assert!(r.html.contains("language-rust"));
        assert!(r.html.contains("hl-"));
    }

    #[test]
    fn kramdown_toc_is_replaced() {
        let r = render("* TOC\n{:toc}\n\n## One\n\n## Two\n", Style::default());
        assert!(r.html.contains("<ul class=\"toc\">"), "{}", r.html);
        assert!(!r.html.contains("galley:toc"));
    }
}
