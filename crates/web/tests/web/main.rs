//! Tests of the pages: routing and roles (`pages`, in process); the nginx
//! edge with the repository's config in front of the real services, which
//! serve the pages (`edge`: the POS and login from purchases, the dashboard
//! from the analytics API); and the whole system driven through Debian's
//! headless Chromium behind that edge (`browser`); the edge's security
//! (`edge_security`: owner data, body limits, rate limits); the POS served
//! straight from the purchases service, as without nginx (`without_edge`).
//! `stack` starts them.

mod browser;
mod edge;
mod edge_security;
mod pages;
mod stack;
mod without_edge;
