//! The console's files, embedded in the binary at build time (see `server/build.rs`): one
//! deployable. Hashed paths (`/console/assets/<version>/…`) are cached for a year; the page
//! itself is never cached, so a new release is picked up on the next load.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));
}

/// The content hash of the embedded build; empty when the binary was built without a console.
pub const VERSION: &str = embedded::VERSION;

pub fn is_built() -> bool {
    !embedded::FILES.is_empty()
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `GET /console/assets/{version}/{name}`: a file of this build, gzip-encoded when the browser
/// accepts it and a compressed copy was built.
pub fn file(req: &HttpRequest, version: &str, name: &str) -> HttpResponse {
    let find = |wanted: &str| embedded::FILES.iter().find(|(n, _)| *n == wanted).map(|(_, bytes)| *bytes);
    let Some(plain) = find(name).filter(|_| version == VERSION) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such file in this build of the console");
    };
    let accepts_gzip = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().split(';').next() == Some("gzip")));
    let mut response = HttpResponse::Ok();
    response
        .content_type(content_type(name))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    match find(&format!("{name}.gz")).filter(|_| accepts_gzip) {
        Some(gzipped) => response.insert_header((header::CONTENT_ENCODING, "gzip")).body(gzipped),
        None => response.body(plain),
    }
}

/// The page every console route loads: the stylesheet and the module that starts the app.
pub fn index_html() -> String {
    if !is_built() {
        return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Gatehouse console</title></head>\
                <body><h1>The console is not built into this binary</h1>\
                <p>Build it with <code>scripts/build-console.sh</code> (or serve with <code>scripts/serve.sh</code>), then rebuild the server.</p></body></html>"
            .to_owned();
    }
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Gatehouse console</title>\n\
         <link rel=\"stylesheet\" href=\"/console/assets/{VERSION}/style.css\">\n\
         <link rel=\"modulepreload\" href=\"/console/assets/{VERSION}/gatehouse_console.js\">\n\
         <script type=\"module\" src=\"/console/assets/{VERSION}/boot.js\"></script>\n\
         <script src=\"/oauth/assets/passkey.js\" defer></script>\n\
         </head>\n<body><noscript>The Gatehouse console needs JavaScript and WebAssembly.</noscript></body>\n</html>\n"
    )
}
