//! The HTML report rendered by a real browser (headless Chromium): the screenshot is
//! not blank and the diagram's elements are in the rendered DOM. CI sets
//! USB_OFFLOAD_BROWSER_TEST=required (and installs Chromium), so there a missing
//! browser fails the test; elsewhere it says it skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("USB_OFFLOAD_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn required() -> bool {
    std::env::var("USB_OFFLOAD_BROWSER_TEST").as_deref() == Ok("required")
}

/// Runs the browser with the flags that keep it off the network, killing it if it
/// hangs; returns its standard output.
fn browse(bin: &Path, profile: &Path, args: &[String]) -> Vec<u8> {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the browser");
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut v);
        v
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser did not finish within 120 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("reader")
}

/// Pixels of the screenshot that are not the page's white background, and those
/// that are clearly red (failing verdicts, the cycle).
fn pixel_counts(png_path: &Path) -> (usize, usize, usize) {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).expect("screenshot"));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let px = &buf[..info.buffer_size()];
    let mut total = 0;
    let mut ink = 0;
    let mut red = 0;
    for p in px.chunks(channels) {
        total += 1;
        let (r, g, b) = if channels >= 3 {
            (p[0], p[1], p[2])
        } else {
            (p[0], p[0], p[0])
        };
        if (r, g, b) != (255, 255, 255) {
            ink += 1;
        }
        if r > 150 && g < 90 && b < 90 {
            red += 1;
        }
    }
    (total, ink, red)
}

#[test]
fn the_report_renders_in_a_browser() {
    let Some(bin) = chromium() else {
        assert!(
            !required(),
            "USB_OFFLOAD_BROWSER_TEST=required but no Chromium on PATH"
        );
        eprintln!("skipped: no Chromium on PATH (CI installs it and requires this test)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("usb-offload-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let html = dir.join("report.html");
    let o = Command::new(env!("CARGO_BIN_EXE_usb-offload"))
        .args([
            "check",
            "-q",
            "-d",
            "v1-caller-locks",
            "-s",
            "stream-vs-reset",
            "--brief",
            "--html",
        ])
        .arg(&html)
        .output()
        .expect("run usb-offload");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let url = format!("file://{}", html.display());

    let shot = dir.join("shot.png");
    browse(
        &bin,
        &dir.join("profile1"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,1800".into(),
            url.clone(),
        ],
    );
    let (total, ink, red) = pixel_counts(&shot);
    assert!(total >= 1400 * 1800 / 2, "screenshot of {total} pixels");
    assert!(
        ink * 20 > total,
        "the page looks blank: {ink} of {total} pixels are not background"
    );
    assert!(
        red > 50,
        "no red: the FAIL verdict and the cycle are not drawn ({red})"
    );

    let dom = String::from_utf8_lossy(&browse(
        &bin,
        &dir.join("profile2"),
        &["--dump-dom".into(), url],
    ))
    .into_owned();
    for (what, n) in [
        ("<svg", 2),
        ("class=\"lane\"", 4),
        ("class=\"hold", 4),
        ("class=\"wait", 2),
        ("class=\"wait cycle\"", 2),
        ("class=\"msg\"", 2),
        ("class=\"fail\"", 2),
        ("class=\"hold cycle\"", 1),
        ("usb-offload replay uo2.", 2),
    ] {
        let found = dom.matches(what).count();
        assert!(
            found >= n,
            "{what}: {found} in the rendered page, expected at least {n}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
