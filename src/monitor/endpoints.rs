//! The monitor's paths: which snapshot each serves and how the query string shapes it.
//!
//! Owns: the path table (`/`, `/healthz`, `/varz`, `/connz`, `/subsz`, `/jsz`, `/leafz`,
//! `/metrics`), reading nats-server's query parameters (`limit`, `offset`, `subs`,
//! `streams`, `consumers`, `accounts`) with its parsing rules (Go's `strconv` booleans and
//! integers; a bad one is a `400` naming the parameter), 404 and 405.
//! Must not: hold a router borrow beyond one synchronous call, or do I/O.
//! Hands off to: the router's snapshot methods, `metrics` for the text format.

use std::cell::RefCell;

use crate::router::{ListOptions, Router};

use super::http::{Request, Response, PROMETHEUS};
use super::metrics::{self, Scrape};

/// What the endpoints need besides the router.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// `[store] dir`, shown in `/jsz` `config`.
    pub(crate) store_dir: String,
}

/// The paths served, for the index page.
const PATHS: [&str; 7] = [
    "/healthz", "/varz", "/connz", "/subsz", "/jsz", "/leafz", "/metrics",
];

/// Answers one request.
pub(crate) fn respond(req: &Request, router: &RefCell<Router>, ctx: &Context) -> Response {
    if req.method != "GET" && req.method != "HEAD" {
        return Response::text(405, "method not allowed: the monitor answers GET only");
    }
    match answer(req, router, ctx) {
        Ok(r) => r,
        Err(text) => Response::text(400, &text),
    }
}

fn json<T: serde::Serialize>(status: u16, value: &T) -> Response {
    Response::json(status, serde_json::to_vec_pretty(value).unwrap_or_default())
}

fn answer(req: &Request, router: &RefCell<Router>, ctx: &Context) -> Result<Response, String> {
    Ok(match req.path.as_str() {
        "/" => {
            let links: Vec<String> = PATHS.iter().map(|p| format!("  {p}")).collect();
            Response::text(200, &format!("leafd monitoring:\n{}", links.join("\n")))
        }
        "/healthz" => {
            let h = router.borrow_mut().healthz();
            json(h.code(), &h)
        }
        "/varz" => json(200, &router.borrow().varz()),
        "/connz" => json(200, &router.borrow().connz(list_options(req)?)),
        "/subsz" => json(200, &router.borrow().subsz(list_options(req)?)),
        "/jsz" => {
            let accounts = boolean(req, "accounts")?;
            let streams = boolean(req, "streams")? || accounts;
            let consumers = boolean(req, "consumers")?;
            json(
                200,
                &router.borrow().jsz(streams, consumers, &ctx.store_dir),
            )
        }
        "/leafz" => json(200, &router.borrow_mut().leafz()),
        "/metrics" => {
            let scrape = {
                let mut r = router.borrow_mut();
                Scrape {
                    varz: r.varz(),
                    js: r.js_snapshot(),
                    uplink: r.uplink_status(),
                }
            };
            Response {
                status: 200,
                content_type: PROMETHEUS,
                body: metrics::render(&scrape).into_bytes(),
            }
        }
        _ => Response::text(404, "not found"),
    })
}

/// `offset`, `limit` and `subs` (`1`/`true`/... or `detail`), as nats-server reads them.
fn list_options(req: &Request) -> Result<ListOptions, String> {
    let detail = req
        .param("subs")
        .is_some_and(|s| s.eq_ignore_ascii_case("detail"));
    Ok(ListOptions {
        offset: integer(req, "offset")?.max(0) as usize,
        limit: integer(req, "limit")?.max(0) as usize,
        subs: !detail && boolean(req, "subs")?,
        subs_detail: detail,
    })
}

/// Go's `strconv.ParseBool`; absent or empty is `false`.
fn boolean(req: &Request, name: &str) -> Result<bool, String> {
    match req.param(name).unwrap_or("") {
        "" => Ok(false),
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(format!(
            "Error decoding boolean for '{name}': strconv.ParseBool: parsing {other:?}: invalid syntax"
        )),
    }
}

/// Go's `strconv.Atoi`; absent or empty is 0.
fn integer(req: &Request, name: &str) -> Result<i64, String> {
    match req.param(name).unwrap_or("") {
        "" => Ok(0),
        s => s.parse::<i64>().map_err(|_| {
            format!("Error decoding int for '{name}': strconv.Atoi: parsing {s:?}: invalid syntax")
        }),
    }
}
