//! A real browser for the console tests: Debian's Chromium, headless, driven through
//! chromedriver with fantoccini. chromedriver runs in its own process group, killed on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new("chromedriver");
        command.arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("chromedriver (scripts/test.sh installs Debian's chromium-driver)");
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// A fresh headless browser (its own profile) with a window of `width` x `height`.
    pub async fn browser(&self, width: u32, height: u32) -> Client {
        let profile = tempfile::tempdir().unwrap().keep();
        // Headless windows are at least 500 px wide: narrower screens are emulated.
        let device = if width < 500 {
            serde_json::json!({ "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1 } })
        } else {
            serde_json::json!({})
        };
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "mobileEmulation": device,
                "binary": chromium(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let caps = caps.as_object().unwrap().clone().into_iter().collect();
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its own process group (see `start`), which holds the browsers.
        #[allow(unsafe_code)]
        // SAFETY: kill(2) on the process group our own child leads.
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

fn chromium() -> &'static str {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("/usr/bin/chromium")
}

/// Where screenshots go: `target/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn screenshot(browser: &Client, name: &str) {
    if let Ok(png) = browser.screenshot().await {
        let _ = std::fs::write(screenshot_dir().join(format!("{name}.png")), png);
    }
}

/// Waits up to 20 s for an element matching `css`.
pub async fn find(browser: &Client, css: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
}

/// Waits up to 20 s until the page's text contains `text`.
pub async fn wait_for_text(browser: &Client, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = browser.find(Locator::Css("body")).await.unwrap().text().await.unwrap_or_default();
        if body.contains(text) {
            return;
        }
        assert!(Instant::now() < deadline, "the page never showed {text:?}; it shows:\n{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a browser scenario; on failure saves `<name>-failure.png` before failing the test.
pub async fn scenario<F: std::future::Future<Output = ()>>(browser: &Client, name: &str, steps: F) {
    use futures_util::FutureExt;
    let outcome =
        tokio::time::timeout(Duration::from_secs(240), std::panic::AssertUnwindSafe(steps).catch_unwind()).await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => {
            let _ =
                tokio::time::timeout(Duration::from_secs(10), screenshot(browser, &format!("{name}-failure"))).await;
            std::panic::resume_unwind(panic);
        }
        Err(_) => {
            let _ =
                tokio::time::timeout(Duration::from_secs(10), screenshot(browser, &format!("{name}-failure"))).await;
            panic!("the browser scenario {name} took longer than 4 minutes");
        }
    }
}
