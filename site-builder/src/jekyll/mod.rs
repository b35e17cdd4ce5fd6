//! Jekyll's Liquid: the template engine a Jekyll site's layouts, includes and pages run on.
//! Shopify's Liquid comes from the `liquid` crates; Jekyll's tags (`markup`, `tags`) and
//! filters (`filters`) are added on top; the site's data is read in place (`json`) by a
//! runtime that treats undefined variables as Liquid does (`runtime`); `engine` parses each
//! template once and renders bodies and layouts.

pub mod archives;
pub mod assign;
pub mod conditions;
pub mod diagnose;
pub mod emoji;
pub mod engine;
pub mod feed;
pub mod filters;
pub mod github_pages;
pub mod html_text;
pub mod json;
pub mod lenient;
pub mod markup;
pub mod mentions;
pub mod numbers;
pub mod plugins;
pub mod redirects;
pub mod runtime;
pub mod sitemap;
pub mod tags;
pub mod views;

pub use diagnose::diagnose;
pub use engine::{render_layout, render_text, Parsed, Roots, Tools};
pub use json::Json;
