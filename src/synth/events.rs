//! A synthetic clickstream shaped like the e-commerce behaviour logs of our users' notebooks:
//! `event_time, event_type, product_id, category_id, category_code, brand, price, user_id,
//! user_session`, times as `YYYY-MM-DD HH:MM:SS UTC` in October 2019, funnels of view → cart
//! → purchase drawn from four planted behaviour groups. Users are generated in blocks whose
//! events are interleaved in time order, as a real log interleaves its users.

use super::sink::{LineSink, OutputFile};
use crate::error::{Error, Result};
use crate::io::dates::days_from_civil;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::Path;

/// One planted behaviour group: sessions per user, views per session, and the probabilities
/// that a viewed product is carted and a carted one bought.
#[derive(Clone, Copy, Debug)]
pub struct Funnel {
    /// Short description.
    pub name: &'static str,
    /// Probability that a user belongs to it.
    pub share: f64,
    /// Sessions per user, inclusive range.
    pub sessions: (u32, u32),
    /// Views per session, inclusive range.
    pub views: (u32, u32),
    /// P(cart | view).
    pub cart: f64,
    /// P(purchase | cart).
    pub purchase: f64,
}

/// The planted groups.
pub const FUNNELS: [Funnel; 4] = [
    Funnel {
        name: "browsers",
        share: 0.45,
        sessions: (1, 4),
        views: (2, 10),
        cart: 0.02,
        purchase: 0.2,
    },
    Funnel {
        name: "buyers",
        share: 0.20,
        sessions: (3, 10),
        views: (2, 6),
        cart: 0.35,
        purchase: 0.7,
    },
    Funnel {
        name: "cart abandoners",
        share: 0.15,
        sessions: (2, 6),
        views: (3, 8),
        cart: 0.4,
        purchase: 0.05,
    },
    Funnel {
        name: "one-visit",
        share: 0.20,
        sessions: (1, 1),
        views: (1, 3),
        cart: 0.0,
        purchase: 0.0,
    },
];

/// Users whose events are interleaved in time order before writing (bounds memory).
const BLOCK: u64 = 4096;
const PRODUCTS: u32 = 20_000;
const CATEGORIES: [&str; 8] = [
    "electronics.smartphone",
    "electronics.audio.headphone",
    "appliances.kitchen.washer",
    "computers.notebook",
    "apparel.shoes",
    "furniture.living_room.sofa",
    "kids.toys",
    "",
];
const BRANDS: [&str; 10] = [
    "samsung", "apple", "xiaomi", "huawei", "lg", "bosch", "sony", "acer", "lenovo", "",
];

/// What to generate.
#[derive(Clone, Debug)]
pub struct EventsSpec {
    /// Users.
    pub users: u64,
    /// Seed.
    pub seed: u64,
}

/// Where the events go.
pub enum EventsOutput<'a> {
    /// A CSV file (gzip when the name ends in `.gz`).
    Csv(&'a Path),
    /// A new SQLite database with one table, `events` (an existing file is replaced).
    Sqlite(&'a Path),
}

struct Event {
    t: i64,
    kind: u8,
    product: u32,
    user: u64,
    session: u128,
}

const KINDS: [&str; 3] = ["view", "cart", "purchase"];

fn category(product: u32) -> usize {
    (product as usize * 7 + 3) % CATEGORIES.len()
}
fn brand(product: u32) -> usize {
    (product as usize * 13 + 5) % BRANDS.len()
}
fn price(product: u32) -> f64 {
    let h = (product as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
    1.0 + (h % 200_000) as f64 / 100.0
}

fn push_time(out: &mut Vec<u8>, t: i64, base_day: i64) {
    let day = t / 86_400;
    let s = t % 86_400;
    let _ = write!(
        out,
        "2019-10-{:02} {:02}:{:02}:{:02} UTC",
        day - base_day + 1,
        s / 3600,
        s / 60 % 60,
        s % 60
    );
}

fn push_uuid(out: &mut Vec<u8>, v: u128) {
    let hex = format!("{v:032x}");
    let h = hex.as_bytes();
    for (i, r) in [(0, 8), (8, 12), (12, 16), (16, 20), (20, 32)]
        .iter()
        .enumerate()
    {
        if i > 0 {
            out.push(b'-');
        }
        out.extend_from_slice(&h[r.0..r.1]);
    }
}

/// Draws one user's funnel group and events; returns the group (index into [`FUNNELS`]).
fn user_events(rng: &mut ChaCha8Rng, user: u64, t0: i64, span: i64, out: &mut Vec<Event>) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    let mut g = FUNNELS.len() - 1;
    for (i, f) in FUNNELS.iter().enumerate() {
        acc += f.share;
        if u < acc {
            g = i;
            break;
        }
    }
    let f = FUNNELS[g];
    let sessions = rng.random_range(f.sessions.0..=f.sessions.1);
    for _ in 0..sessions {
        let session: u128 = rng.random();
        let mut t = t0 + rng.random_range(0..span - 4 * 3600);
        let views = rng.random_range(f.views.0..=f.views.1);
        for _ in 0..views {
            let product = rng.random_range(0..PRODUCTS);
            let mut push = |kind, t| {
                out.push(Event {
                    t,
                    kind,
                    product,
                    user,
                    session,
                })
            };
            push(0, t);
            t += rng.random_range(5..180);
            if rng.random_bool(f.cart) {
                push(1, t);
                t += rng.random_range(5..120);
                if rng.random_bool(f.purchase) {
                    push(2, t);
                    t += rng.random_range(5..60);
                }
            }
        }
    }
    g
}

/// Streams the events of `spec.users` users to `out` and, when given, `user_id,group` (the
/// planted funnel of every user, 0-based into [`FUNNELS`]) to `truth`.
pub fn generate_events(
    spec: &EventsSpec,
    out: EventsOutput<'_>,
    truth: Option<&Path>,
) -> Result<u64> {
    let mut truth_file = truth.map(OutputFile::create).transpose()?;
    if let Some(t) = truth_file.as_mut() {
        t.line(b"user_id,group\n")?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let base_day = days_from_civil(2019, 10, 1);
    let (t0, span) = (base_day * 86_400, 31 * 86_400);
    #[cfg_attr(not(feature = "sqlite"), allow(unused_assignments))]
    let mut csv = None;
    #[cfg(feature = "sqlite")]
    let mut db = None;
    match out {
        EventsOutput::Csv(p) => {
            let mut f = OutputFile::create(p)?;
            f.line(b"event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n")?;
            csv = Some(f);
        }
        #[cfg(feature = "sqlite")]
        EventsOutput::Sqlite(p) => db = Some(SqliteEvents::create(p)?),
        #[cfg(not(feature = "sqlite"))]
        EventsOutput::Sqlite(p) => {
            return Err(Error::Unsupported(format!(
                "{}: this segmenter was built without the 'sqlite' feature",
                p.display()
            )))
        }
    }
    let mut events = Vec::new();
    let mut line = Vec::with_capacity(160);
    let mut written = 0u64;
    let mut first = 0;
    while first < spec.users {
        let last = (first + BLOCK).min(spec.users);
        events.clear();
        for user in first..last {
            let id = 512_000_000 + user;
            let g = user_events(&mut rng, id, t0, span, &mut events);
            if let Some(t) = truth_file.as_mut() {
                t.line(format!("{id},{g}\n").as_bytes())?;
            }
        }
        // Stable: events of one user at one second keep their funnel order.
        events.sort_by_key(|e| e.t);
        for e in &events {
            line.clear();
            push_time(&mut line, e.t, base_day);
            let c = category(e.product);
            let _ = write!(
                line,
                ",{},{},{},{},{},",
                KINDS[e.kind as usize],
                1_000_000 + e.product,
                2_053_013_550_000_000_000u64 + c as u64,
                CATEGORIES[c],
                BRANDS[brand(e.product)]
            );
            super::push_fixed(&mut line, price(e.product), 2);
            let _ = write!(line, ",{},", e.user);
            push_uuid(&mut line, e.session);
            line.push(b'\n');
            if let Some(f) = csv.as_mut() {
                f.line(&line)?;
            }
            #[cfg(feature = "sqlite")]
            if let Some(d) = db.as_mut() {
                d.insert(e, base_day, &mut line)?;
            }
            written += 1;
        }
        first = last;
    }
    if let Some(f) = csv {
        f.commit()?;
    }
    if let Some(t) = truth_file {
        t.commit()?;
    }
    #[cfg(feature = "sqlite")]
    if let Some(d) = db {
        d.commit()?;
    }
    Ok(written)
}

#[cfg(feature = "sqlite")]
/// The `events` table of a SQLite database, filled in one transaction.
struct SqliteEvents {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    conn: rusqlite::Connection,
}

#[cfg(feature = "sqlite")]
impl SqliteEvents {
    fn err(&self, e: rusqlite::Error) -> Error {
        Error::Sqlite {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Creates the database at a temporary path beside `path`; [`SqliteEvents::commit`]
    /// renames it into place, so a failed run leaves no half-filled database.
    fn create(path: &Path) -> Result<Self> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let conn = rusqlite::Connection::open(&tmp).map_err(|e| Error::Sqlite {
            path: path.into(),
            message: e.to_string(),
        })?;
        let s = SqliteEvents {
            path: path.into(),
            tmp,
            conn,
        };
        s.conn
            .execute_batch(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
                 CREATE TABLE events (event_time TEXT, event_type TEXT, product_id INTEGER,
                   category_id INTEGER, category_code TEXT, brand TEXT, price REAL,
                   user_id INTEGER, user_session TEXT);
                 BEGIN;",
            )
            .map_err(|e| s.err(e))?;
        Ok(s)
    }

    /// Inserts one event; `scratch` holds its CSV line (reused for the text fields).
    fn insert(&mut self, e: &Event, base_day: i64, scratch: &mut Vec<u8>) -> Result<()> {
        scratch.clear();
        push_time(scratch, e.t, base_day);
        let time = String::from_utf8_lossy(scratch).into_owned();
        scratch.clear();
        push_uuid(scratch, e.session);
        let session = String::from_utf8_lossy(scratch).into_owned();
        let c = category(e.product);
        let code = CATEGORIES[c];
        let b = BRANDS[brand(e.product)];
        let mut stmt = self
            .conn
            .prepare_cached("INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
            .map_err(|x| Error::Sqlite {
                path: self.path.clone(),
                message: x.to_string(),
            })?;
        stmt.execute(rusqlite::params![
            time,
            KINDS[e.kind as usize],
            1_000_000 + e.product as i64,
            2_053_013_550_000_000_000i64 + c as i64,
            (!code.is_empty()).then_some(code),
            (!b.is_empty()).then_some(b),
            (price(e.product) * 100.0).round() / 100.0,
            e.user as i64,
            session
        ])
        .map_err(|x| Error::Sqlite {
            path: self.path.clone(),
            message: x.to_string(),
        })?;
        Ok(())
    }

    fn commit(self) -> Result<()> {
        self.conn
            .execute_batch("COMMIT;")
            .map_err(|e| self.err(e))?;
        let (path, tmp) = (self.path.clone(), self.tmp.clone());
        self.conn.close().map_err(|(_, e)| Error::Sqlite {
            path: path.clone(),
            message: e.to_string(),
        })?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::write(&path, e))
    }
}
