//! Tests of the pages: routing and roles (`pages`, in process), and the
//! whole system driven through Debian's headless Chromium behind Debian's
//! nginx with the repository's edge config (`browser`).

mod browser;
mod edge;
mod pages;
mod stack;
