//! The dashboard in a real headless browser: the real `segmenter serve --run` on 127.0.0.1,
//! Debian's chromium driven over the DevTools protocol (tungstenite, one flattened session).
//! The page loads with no console error or exception, shows the run's segment count and
//! names, draws the scatter (pixels counted), filters it by a clicked segment, shows a row
//! on hover, sorts the profile table, and its scoring form returns `predict`'s segment.
#![cfg(feature = "serve")]

mod common;

use common::cli::{read_csv, run_ok, s, segmenter};
use common::http::Server;
use serde_json::{json, Value};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

/// A headless chromium with its own profile directory, closed and killed (by pid) on drop.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    events: Vec<Value>,
}

impl Browser {
    fn start() -> Browser {
        let exe = std::env::var("SEGMENTER_CHROMIUM").unwrap_or_else(|_| "chromium".into());
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(&exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--window-size=1280,1600",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {exe} ({e}): the dashboard test needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
            });
        // Chromium writes its port and browser path here once it listens.
        let port_file = profile.path().join("DevToolsActivePort");
        let t = Instant::now();
        let text = loop {
            if let Ok(t) = std::fs::read_to_string(&port_file) {
                if t.lines().count() >= 2 {
                    break t;
                }
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "chromium did not open DevTools"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut lines = text.lines();
        let port = lines.next().unwrap().trim().to_string();
        let path = lines.next().unwrap().trim().to_string();
        let stream = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (ws, _) = tungstenite::client(format!("ws://127.0.0.1:{port}{path}"), stream).unwrap();
        Browser {
            child,
            _profile: profile,
            ws,
            next_id: 0,
            events: Vec::new(),
        }
    }

    /// Sends a command (to the page session when `session` is set) and waits for its result;
    /// events that arrive meanwhile are kept.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let m = self.ws.read().unwrap();
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.next_id += 1;
        let _ = self.ws.send(Message::text(
            json!({"id": self.next_id, "method": "Browser.close"}).to_string(),
        ));
        for _ in 0..40 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A page of the browser, in one flattened DevTools session.
struct Page<'a> {
    b: &'a mut Browser,
    session: String,
}

impl Page<'_> {
    fn eval(&mut self, js: &str) -> Value {
        let r = self.b.call(
            Some(&self.session.clone()),
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    fn wait_for(&mut self, what: &str, js: &str) -> Value {
        let t = Instant::now();
        loop {
            let v = self.eval(js);
            if !v.is_null() && v != json!(false) && v != json!("") {
                return v;
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn mouse(&mut self, kind: &str, x: f64, y: f64) {
        self.b.call(
            Some(&self.session.clone()),
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": x, "y": y, "button": "none"}),
        );
    }
}

/// Console errors, uncaught exceptions and error log entries (failed loads) seen so far.
fn page_errors(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| match e["method"].as_str() {
            Some("Runtime.exceptionThrown") => true,
            Some("Runtime.consoleAPICalled") => {
                matches!(e["params"]["type"].as_str(), Some("error" | "assert"))
            }
            Some("Log.entryAdded") => e["params"]["entry"]["level"] == json!("error"),
            _ => false,
        })
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn dashboard_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("customers.csv");
    let g = segmenter(&[
        "generate",
        "customers",
        "--rows",
        "1500",
        "--seed",
        "8",
        "-o",
        s(&input),
    ]);
    assert!(g.status.success());
    let out = dir.path().join("out");
    let summary = run_ok(&input, &out, &["--k-range", "2..6"]);
    let k = summary["k"].as_u64().unwrap();
    let names: Vec<String> = summary["segment_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let run: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let model = out.join("model.json");
    let srv = Server::start(&["--model", s(&model), "--run", s(&out)]);

    let mut b = Browser::start();
    let target = b.call(None, "Target.createTarget", json!({"url": "about:blank"}));
    let attached = b.call(
        None,
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
    );
    let session = attached["sessionId"].as_str().unwrap().to_string();
    for m in ["Runtime.enable", "Log.enable", "Page.enable"] {
        b.call(Some(&session), m, json!({}));
    }
    let mut page = Page { b: &mut b, session };
    let url = format!("http://{}/", srv.addr);
    page.b.call(
        Some(&page.session.clone()),
        "Page.navigate",
        json!({"url": url}),
    );
    page.wait_for(
        "the dashboard to render",
        "document.body && document.body.dataset.ready === 'true'",
    );

    // Segment count and names.
    let count = page.eval("document.getElementById('segment-count').textContent");
    assert_eq!(count, json!(k.to_string()));
    let shown =
        page.eval("[...document.querySelectorAll('.segment-card .name')].map(e => e.textContent)");
    assert_eq!(shown, json!(names));

    // The scatter drew its points: coloured pixels on the canvas.
    let sample = run["pca_sample"].as_array().unwrap();
    assert!(sample.len() >= 1000);
    let coloured = "(() => { const c = document.getElementById('scatter');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) { const [r, g, b, a] = [d[i], d[i+1], d[i+2], d[i+3]];
          if (a > 0 && (Math.abs(r - g) > 30 || Math.abs(g - b) > 30 || Math.abs(r - b) > 30)) n++; }
        return n; })()";
    let all_pixels = page.eval(coloured).as_u64().unwrap();
    assert!(all_pixels > 2000, "{all_pixels} coloured pixels");
    assert_eq!(
        page.eval("document.getElementById('scatter').dataset.pointsDrawn"),
        json!(sample.len().to_string())
    );

    // Clicking segment 1 leaves only its points; clicking again shows all.
    let in_one = sample.iter().filter(|p| p["segment"] == json!(1)).count();
    page.eval("document.querySelector('.segment-card[data-segment=\"1\"]').click()");
    assert_eq!(
        page.eval("document.getElementById('scatter').dataset.pointsDrawn"),
        json!(in_one.to_string())
    );
    let fewer = page.eval(coloured).as_u64().unwrap();
    assert!(fewer < all_pixels, "{fewer} vs {all_pixels}");
    page.eval("document.querySelector('.segment-card[data-segment=\"1\"]').click()");
    assert_eq!(
        page.eval("document.getElementById('scatter').dataset.pointsDrawn"),
        json!(sample.len().to_string())
    );

    // Hovering a drawn point shows its customer row.
    let at = page.eval(
        "(() => { const c = document.getElementById('scatter').getBoundingClientRect();
        const d = state.drawn[0]; const s = c.width / document.getElementById('scatter').width;
        return [c.left + d.x * s, c.top + d.y * s]; })()",
    );
    let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    page.mouse("mouseMoved", x, y);
    let tip = page.wait_for(
        "the tooltip",
        "(() => { const t = document.getElementById('tooltip'); return t.hidden ? '' : t.textContent; })()",
    );
    let tip = tip.as_str().unwrap();
    assert!(tip.contains("Avg Session Length: "), "{tip}");
    // The nearest point may be another one drawn on top; it is a real sampled row either way.
    let shown_row: u64 = tip
        .strip_prefix("row ")
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(sample.iter().any(|p| p["row"] == json!(shown_row)), "{tip}");

    // The k-choice curves and the profile table, sorted by a clicked column.
    assert!(page.eval("document.getElementById('k-rule').textContent.length > 10") == json!(true));
    page.eval("document.querySelector('#profiles th[data-key=\"size\"]').click()");
    let sizes = page.eval(
        "[...document.querySelectorAll('#profiles tbody tr')].map(r => r.children[2].textContent)",
    );
    let mut want: Vec<u64> = run["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["size"].as_u64().unwrap())
        .collect();
    want.sort();
    let got: Vec<u64> = sizes
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().replace(',', "").parse().unwrap())
        .collect();
    assert_eq!(got, want);
    page.eval("document.querySelector('#profiles th[data-key=\"size\"]').click()");
    let desc = page.eval(
        "[...document.querySelectorAll('#profiles tbody tr')].map(r => r.children[2].textContent)",
    );
    let got: Vec<u64> = desc
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().replace(',', "").parse().unwrap())
        .collect();
    want.reverse();
    assert_eq!(got, want);

    // The scoring form returns the segment `predict` gives the same customer.
    let scored = dir.path().join("scored.csv");
    let o = segmenter(&["predict", s(&model), s(&input), "-o", s(&scored)]);
    assert!(o.status.success());
    let (h, rows) = read_csv(&scored);
    let numeric = [
        "Avg Session Length",
        "Time on App",
        "Time on Website",
        "Length of Membership",
        "Yearly Amount Spent",
    ];
    let idx: Vec<usize> = numeric
        .iter()
        .map(|c| h.iter().position(|x| x == c).unwrap())
        .collect();
    let seg = h.iter().position(|x| x == "segment").unwrap();
    let mut checked = std::collections::BTreeSet::new();
    for r in rows
        .iter()
        .filter(|r| idx.iter().all(|&i| !r[i].is_empty()))
    {
        if checked.len() as u64 == k {
            break;
        }
        if !checked.insert(r[seg].clone()) {
            continue; // one customer per segment
        }
        let fill: Vec<String> = numeric
            .iter()
            .zip(&idx)
            .map(|(c, &i)| {
                format!(
                    "document.querySelector('#score-fields input[name=\"{c}\"]').value = {:?};",
                    r[i]
                )
            })
            .collect();
        page.eval(&format!(
            "document.getElementById('score-result').dataset.segment = 'pending'; {} document.querySelector('#score-form button').click(); true",
            fill.join(" ")
        ));
        let got = page.wait_for(
            "the score",
            "(() => { const s = document.getElementById('score-result').dataset.segment; return s === 'pending' ? '' : s; })()",
        );
        assert_eq!(got, json!(r[seg]), "row {}", r[0]);
        let text = page.eval("document.getElementById('score-result').textContent");
        let name = &names[r[seg].parse::<usize>().unwrap()];
        assert!(text.as_str().unwrap().contains(name.as_str()), "{text}");
    }
    assert_eq!(
        checked.len() as u64,
        k,
        "every segment scored once through the form"
    );

    let errors = page_errors(&page.b.events);
    assert!(errors.is_empty(), "console errors: {errors:?}");
    drop(page);
    drop(b);
}
