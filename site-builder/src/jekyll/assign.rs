//! `{% assign %}` that keeps a hash's key order. The `liquid` crate copies an assigned value
//! into its own object type, a `HashMap`, so `{% assign cats = site.categories %}` followed
//! by `{% for c in cats %}` would list the keys in a different order on every run (Jekyll
//! keeps insertion order, and Galley's output must not change between identical builds).
//! Here a hash or list is kept as ordered JSON beside the render, and the variable names it.

use std::io::Write;
use std::sync::Arc;

use liquid_core::error::ResultLiquidExt;
use liquid_core::model::{KString, ScalarCow, Value as LValue, ValueView};
use liquid_core::parser::FilterChain;
use liquid_core::{Language, ParseTag, Renderable, Result, Runtime, TagReflection, TagTokenIter};

use super::json::from_liquid;
use super::runtime::Current;

/// What the global holds for a variable whose value is kept aside: a string no template
/// can write (it starts with a NUL).
const MARK: &str = "\u{0}galley-assigned\u{0}";

#[derive(Clone, Copy, Debug)]
pub struct AssignTag;

impl TagReflection for AssignTag {
    fn tag(&self) -> &'static str {
        "assign"
    }
    fn description(&self) -> &'static str {
        "assigns a value to a variable, keeping a hash's key order"
    }
}

impl ParseTag for AssignTag {
    fn parse(
        &self,
        mut args: TagTokenIter<'_>,
        language: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let name: KString = args
            .expect_next("`assign` needs a variable name")?
            .expect_identifier()
            .into_result()?
            .to_owned()
            .into();
        args.expect_next("`assign` needs `=` after the name")?
            .expect_str("=")
            .into_result_custom_msg("`assign` needs `=` after the name")?;
        let value = args
            .expect_next("`assign` needs a value after `=`")?
            .expect_filter_chain(language)
            .into_result()?;
        args.expect_nothing()?;
        Ok(Box::new(Assign { name, value }))
    }
    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

#[derive(Debug)]
struct Assign {
    name: KString,
    value: FilterChain,
}

impl Renderable for Assign {
    fn render_to(&self, _: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let value = self
            .value
            .evaluate(runtime)
            .trace_with(|| format!("{{% assign {} = {} %}}", self.name, self.value).into())?;
        let view = value.as_view();
        if view.as_object().is_none() && view.as_array().is_none() {
            runtime.set_global(self.name.clone(), value.into_owned());
            return Ok(());
        }
        let json = Arc::new(from_liquid(view));
        runtime
            .registers()
            .get_mut::<Current>()
            .assigned
            .insert(self.name.to_string(), json);
        runtime.set_global(self.name.clone(), LValue::scalar(MARK));
        Ok(())
    }
}

/// The ordered value kept for a global, when `global` is the mark `assign` left.
pub fn kept(
    runtime: &dyn Runtime,
    name: &str,
    global: &dyn ValueView,
) -> Option<Arc<serde_json::Value>> {
    let mark = global.as_scalar()?;
    if !is_mark(&mark) {
        return None;
    }
    runtime
        .registers()
        .get_mut::<Current>()
        .assigned
        .get(name)
        .cloned()
}

fn is_mark(s: &ScalarCow<'_>) -> bool {
    s.to_kstr().as_str() == MARK
}
