//! Loops between templates, found before anything renders: a template that includes itself,
//! two that include each other, or layouts whose `layout:` lead back round. Rendering one
//! would recurse until the stack overflows and the process aborts (taking `galley serve`
//! with it), so each loop is an error that names every step with its file and line.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Diagnostic;

/// Enough loops to fix at once; a tangle of templates could have exponentially many.
const MAX_LOOPS: usize = 20;

/// One edge: `from` names `to` at `line` and `column` of `file`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Step {
    pub to: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// Names and what each names in turn.
#[derive(Debug, Default)]
pub struct Graph {
    edges: BTreeMap<String, Vec<Step>>,
}

impl Graph {
    pub fn add(&mut self, from: &str, step: Step) {
        self.edges.entry(from.to_string()).or_default().push(step);
    }

    /// Every distinct loop once, as the steps that close it, starting at its smallest name.
    pub fn loops(&self) -> Vec<Vec<(String, Step)>> {
        let mut found: BTreeSet<Vec<(String, Step)>> = BTreeSet::new();
        let mut done: BTreeSet<&str> = BTreeSet::new();
        for start in self.edges.keys() {
            let mut path: Vec<(String, Step)> = Vec::new();
            self.walk(start, &mut path, &done, &mut found);
            done.insert(start);
        }
        found.into_iter().collect()
    }

    fn walk(
        &self,
        node: &str,
        path: &mut Vec<(String, Step)>,
        done: &BTreeSet<&str>,
        found: &mut BTreeSet<Vec<(String, Step)>>,
    ) {
        if let Some(i) = path.iter().position(|(from, _)| from == node) {
            found.insert(rotate(path[i..].to_vec()));
            return;
        }
        // Every loop through a start already walked was found from it.
        if done.contains(node) || found.len() >= MAX_LOOPS {
            return;
        }
        for step in self.edges.get(node).into_iter().flatten() {
            path.push((node.to_string(), step.clone()));
            self.walk(&step.to, path, done, found);
            path.pop();
        }
    }
}

/// The same loop found from different names reads the same: from its smallest name.
fn rotate(mut cycle: Vec<(String, Step)>) -> Vec<(String, Step)> {
    if let Some(min) = cycle
        .iter()
        .enumerate()
        .min_by(|a, b| a.1 .0.cmp(&b.1 .0))
        .map(|(i, _)| i)
    {
        cycle.rotate_left(min);
    }
    cycle
}

/// One diagnostic for a loop: at its first step, with the whole chain in the message.
pub fn diagnose(cycle: &[(String, Step)], what: &str, hint: &str) -> Diagnostic {
    let chain: Vec<String> = cycle
        .iter()
        .map(|(from, step)| {
            format!(
                "`{from}` ({}:{}:{}) -> `{}`",
                step.file, step.line, step.column, step.to
            )
        })
        .collect();
    let first = &cycle[0].1;
    Diagnostic::new(&first.file, format!("{what} loop: {}", chain.join(", ")))
        .at(first.line, first.column)
        .hint(hint)
}

/// A template named by another: its name, and the 1-based line and column of the tag.
pub type Reference = (String, usize, usize);

/// Quoted template names after `include`, `extends` or `import` in a Tera template.
pub fn tera_references(text: &str) -> Vec<Reference> {
    references(
        text,
        r#"\{%-?\s*(?:include|extends|import)\s+(?:\[\s*)?["']([^"']+)["']"#,
    )
}

/// `{% include name %}` references in a Liquid template, with their lines (names written
/// with `{{ }}` are only known when rendering, and are left out).
/// Includes inside `{% comment %}` or `{% raw %}` never run, so they are not references.
pub fn liquid_references(text: &str) -> Vec<Reference> {
    let text = crate::jekyll::markup::without_literal_blocks(text);
    references(&text, r#"\{%-?\s*include\s+["']?([^\s"'%{}]+)"#)
}

/// The first capture of `pattern` at each match, with the match's 1-based line and column.
fn references(text: &str, pattern: &str) -> Vec<Reference> {
    let Ok(re) = regex::Regex::new(pattern) else {
        return Vec::new();
    };
    re.captures_iter(text)
        .filter_map(|c| {
            let (tag, name) = (c.get(0)?, c.get(1)?);
            let (line, column) = crate::error::line_col(text, tag.start());
            Some((name.as_str().to_string(), line, column))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(to: &str, line: usize) -> Step {
        Step {
            to: to.into(),
            file: format!("_includes/{to}"),
            line,
            column: 1,
        }
    }

    #[test]
    fn a_self_loop_and_a_two_step_loop_are_each_found_once() {
        let mut g = Graph::default();
        g.add("a", step("a", 3));
        g.add("b", step("c", 1));
        g.add("c", step("b", 2));
        g.add("d", step("b", 5));
        let loops = g.loops();
        assert_eq!(loops.len(), 2, "{loops:?}");
        let names: Vec<Vec<&str>> = loops
            .iter()
            .map(|l| l.iter().map(|(f, _)| f.as_str()).collect())
            .collect();
        assert!(names.contains(&vec!["a"]));
        assert!(names.contains(&vec!["b", "c"]));
    }

    #[test]
    fn references_are_read_with_their_lines() {
        let text = "x\n{% include \"nav.html\" %}\n{%- extends 'base.html' -%}\n{% import \"m.html\" as m %}";
        assert_eq!(
            tera_references(text),
            vec![
                ("nav.html".to_string(), 2, 1),
                ("base.html".to_string(), 3, 1),
                ("m.html".to_string(), 4, 1)
            ]
        );
    }
}
