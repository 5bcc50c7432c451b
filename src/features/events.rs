//! Behaviour features from a clickstream (one row per event: time, type view/cart/purchase,
//! user, and optionally session, product, category, brand, price): one output row per user.
//!
//! Definitions (days are calendar days; `as_of` defaults to the day after the latest event):
//! - `events`: every accepted event of the user, whatever its type;
//! - `views`, `carts`, `purchases`: events of type `view`, `cart`, `purchase` (any case);
//! - `view_to_cart` = carts / views and `cart_to_purchase` = purchases / carts, each **0 when
//!   its denominator is 0** (a user who never viewed has no conversion to measure; 0 keeps
//!   the column numeric for clustering). They are not capped: a log may hold more carts
//!   than views;
//! - `products`, `categories`, `brands`: distinct non-empty values;
//! - `spend` = Σ price over purchases;
//! - `recency_days` = as_of − day of the last event; `active_days`: distinct event days;
//! - `sessions`: distinct non-empty session ids; without a session column, a session is a
//!   run of the user's events with gaps of at most 30 minutes (the log is read in order);
//! - `session_events` = mean events per session; `session_minutes` = mean of (last − first
//!   event time) per session, in minutes; both 0 for a user without a session.
//!
//! Memory: per user a fixed record (which holds up to 24 products, 6 categories, 6 brands
//! and 8 days inline), one entry per distinct product, category and brand, and one per distinct (user,
//! session), (user, day) and, past the inline ones, (user, product / category / brand) —
//! never one per event.

use super::columns::{find, require, want as w};
use super::rejects::{detail, RejectLog};
use super::rfm::normalise_id;
use super::{id_order, parse_number, TimeOptions};
use crate::error::{ColumnParam, Error, Param, Result};
use crate::io::dates::day_of;
use crate::io::format::push_decimal;
use crate::io::hash::{hash_bytes, pair_key, Interner, KeyMap, KeySet, SmallDistinct};
use crate::io::table::push_csv_field;
use crate::io::Source;
use std::io::Write;

/// Output columns, in order.
pub const EVENT_COLUMNS: [&str; 16] = [
    "customer_id",
    "events",
    "sessions",
    "views",
    "carts",
    "purchases",
    "view_to_cart",
    "cart_to_purchase",
    "products",
    "categories",
    "brands",
    "spend",
    "recency_days",
    "active_days",
    "session_events",
    "session_minutes",
];

/// Gap that ends an inferred session when the log has no session column.
pub const SESSION_GAP_SECS: i64 = 30 * 60;

/// Reject reasons (the `reason` column of the rejects file).
pub mod reason {
    /// The user id field is empty.
    pub const MISSING_USER: &str = "missing user id";
    /// The event time is empty or in no accepted form.
    pub const BAD_TIME: &str = "unparseable date";
    /// The event type field is empty.
    pub const MISSING_TYPE: &str = "missing event type";
    /// A purchase whose price is empty, not a number, or not finite.
    pub const BAD_PRICE: &str = "non-numeric amount";
    /// The event is later than `--as-of`.
    pub const AFTER_AS_OF: &str = "after as-of date";
}

/// Column names given on the command line (each optional: common names are detected).
#[derive(Clone, Debug, Default)]
pub struct EventFlags {
    /// `--user`.
    pub user: Option<String>,
    /// `--time`.
    pub time: Option<String>,
    /// `--type`.
    pub kind: Option<String>,
    /// `--session`.
    pub session: Option<String>,
    /// `--product`.
    pub product: Option<String>,
    /// `--category`.
    pub category: Option<String>,
    /// `--brand`.
    pub brand: Option<String>,
    /// `--price`.
    pub price: Option<String>,
    /// `--view-events`: event types counted as views (default: [`DEFAULT_VIEWS`]).
    pub view_events: Vec<String>,
    /// `--cart-events`: event types counted as add-to-cart (default: [`DEFAULT_CARTS`]).
    pub cart_events: Vec<String>,
    /// `--purchase-events`: event types counted as purchases (default: [`DEFAULT_PURCHASES`]).
    pub purchase_events: Vec<String>,
}

/// Event types read as views unless told otherwise (case-insensitive).
pub const DEFAULT_VIEWS: &[&str] = &["view", "page_view", "product_view"];
/// Event types read as add-to-cart unless told otherwise.
pub const DEFAULT_CARTS: &[&str] = &["cart", "add_to_cart", "addtocart"];
/// Event types read as purchases unless told otherwise.
pub const DEFAULT_PURCHASES: &[&str] = &["purchase", "transaction"];

/// Distinct unmatched event types counted for the message when none matches.
const MAX_OTHER_TYPES: usize = 64;

/// The resolved input columns (indices into the source's columns).
#[derive(Clone, Debug)]
pub struct EventColumns {
    /// User id.
    pub user: usize,
    /// Event time.
    pub time: usize,
    /// Event type.
    pub kind: usize,
    /// Optional columns: session, product, category, brand, price.
    pub optional: [Option<usize>; 5],
    /// Event types (lower case) read as views, add-to-cart and purchases.
    pub vocab: [Vec<Vec<u8>>; 3],
    names: Vec<String>,
}

const USER: &[&str] = &["user_id", "customer_id", "CustomerID", "visitorid", "user"];
const TIME: &[&str] = &["event_time", "timestamp", "time", "event_date", "date"];
const KIND: &[&str] = &["event_type", "event", "type", "action"];
const SESSION: &[&str] = &["user_session", "session_id", "session"];
const PRODUCT: &[&str] = &["product_id", "itemid", "item_id", "product", "sku"];
const CATEGORY: &[&str] = &["category_code", "category_id", "category", "categoryid"];
const BRAND: &[&str] = &["brand"];
const PRICE: &[&str] = &["price", "unit_price", "UnitPrice"];

impl EventColumns {
    /// Resolves the flags against the source's columns, detecting common names.
    pub fn resolve(src: &Source, f: &EventFlags) -> Result<EventColumns> {
        Ok(EventColumns {
            user: require(
                src,
                &w("user id", ColumnParam::One(Param::User), &f.user, USER),
            )?,
            time: require(
                src,
                &w("event time", ColumnParam::One(Param::Time), &f.time, TIME),
            )?,
            kind: require(
                src,
                &w(
                    "event type",
                    ColumnParam::One(Param::EventType),
                    &f.kind,
                    KIND,
                ),
            )?,
            optional: [
                find(
                    src,
                    &w(
                        "session",
                        ColumnParam::One(Param::Session),
                        &f.session,
                        SESSION,
                    ),
                )?,
                find(
                    src,
                    &w(
                        "product",
                        ColumnParam::One(Param::Product),
                        &f.product,
                        PRODUCT,
                    ),
                )?,
                find(
                    src,
                    &w(
                        "category",
                        ColumnParam::One(Param::CategoryColumn),
                        &f.category,
                        CATEGORY,
                    ),
                )?,
                find(
                    src,
                    &w("brand", ColumnParam::One(Param::Brand), &f.brand, BRAND),
                )?,
                find(
                    src,
                    &w("price", ColumnParam::One(Param::Price), &f.price, PRICE),
                )?,
            ],
            vocab: [
                (&f.view_events, DEFAULT_VIEWS),
                (&f.cart_events, DEFAULT_CARTS),
                (&f.purchase_events, DEFAULT_PURCHASES),
            ]
            .map(|(given, default)| {
                let words: Vec<Vec<u8>> = if given.is_empty() {
                    default.iter().map(|w| w.as_bytes().to_vec()).collect()
                } else {
                    given
                        .iter()
                        .map(|w| w.trim().to_ascii_lowercase().into_bytes())
                        .filter(|w| !w.is_empty())
                        .collect()
                };
                words
            }),
            names: src.columns().to_vec(),
        })
    }

    /// The columns to read: user, time, type, then each optional column present.
    pub fn wanted(&self) -> Vec<usize> {
        let mut w = vec![self.user, self.time, self.kind];
        w.extend(self.optional.iter().flatten());
        w
    }

    /// A description of the mapping, for the summary.
    pub fn describe(&self) -> String {
        let n = |o: Option<usize>| o.map_or("(none)", |i| self.names[i].as_str());
        format!(
            "user={}, time={}, type={}, session={}, product={}, category={}, brand={}, price={}",
            n(Some(self.user)),
            n(Some(self.time)),
            n(Some(self.kind)),
            n(self.optional[0]),
            n(self.optional[1]),
            n(self.optional[2]),
            n(self.optional[3]),
            n(self.optional[4]),
        )
    }
}

/// Fixed-size state per user.
#[derive(Clone, Debug)]
struct User {
    events: u32,
    views: u32,
    carts: u32,
    purchases: u32,
    products: SmallDistinct<24>,
    categories: SmallDistinct<6>,
    brands: SmallDistinct<6>,
    active_days: SmallDistinct<8>,
    sessions: u32,
    session_events: u64,
    session_secs: i64,
    spend: f64,
    last_t: i64,
    last_day: i64,
    /// The last product / category / brand hash, so repeats skip the sets.
    last_values: [u64; 3],
    /// The open session: key, first and last time (flushed when the user's session changes).
    cur_session: u64,
    cur_first: i64,
    cur_last: i64,
    /// Closed sessions (key, first, last) while there are at most [`SESSION_LIST`]; then
    /// they all move to the shared session map and this stays empty.
    closed: Vec<(u64, i64, i64)>,
    sessions_shared: bool,
}

/// Closed sessions a user keeps in their own list before moving them to the shared map.
const SESSION_LIST: usize = 32;

/// One output row.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// The user id as read.
    pub customer_id: String,
    /// All accepted events.
    pub events: u32,
    /// Distinct sessions.
    pub sessions: u32,
    /// `view` events.
    pub views: u32,
    /// `cart` events.
    pub carts: u32,
    /// `purchase` events.
    pub purchases: u32,
    /// carts / views (0 when views = 0).
    pub view_to_cart: f64,
    /// purchases / carts (0 when carts = 0).
    pub cart_to_purchase: f64,
    /// Distinct products.
    pub products: u32,
    /// Distinct categories.
    pub categories: u32,
    /// Distinct brands.
    pub brands: u32,
    /// Σ price of purchases.
    pub spend: f64,
    /// Days from the last event to the as-of date.
    pub recency_days: i64,
    /// Distinct days with an event.
    pub active_days: u32,
    /// Mean events per session.
    pub session_events: f64,
    /// Mean session length in minutes.
    pub session_minutes: f64,
}

/// The per-user table and the facts of its build.
#[derive(Clone, Debug)]
pub struct EventFeatures {
    /// One row per user, ordered by id.
    pub rows: Vec<EventRow>,
    /// The reference day (days since 1970-01-01).
    pub as_of: i64,
    /// Events read.
    pub lines: u64,
    /// Events that passed validation.
    pub lines_used: u64,
}

/// `a / b`, or 0 when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

const NO_KEY: u64 = u64::MAX;

/// Streams events into per-user state.
pub struct EventsBuilder<W: Write> {
    cols: EventColumns,
    /// Position of each optional column in the pushed fields.
    at: [Option<usize>; 5],
    time: TimeOptions,
    ids: Interner,
    users: Vec<User>,
    /// Session spans by (user, session) key: (user, first, last).
    sessions: KeyMap<(u32, i64, i64)>,
    /// Distinct (user, product / category / brand / day) keys past the users' inline sets.
    seen: KeySet,
    rejects: RejectLog<W>,
    lines: u64,
    used: u64,
    max_day: i64,
    /// The previous time field and its value: sorted logs repeat a timestamp many times.
    last_time: (Vec<u8>, i64),
    id_buf: Vec<u8>,
    /// Events that are a view, cart or purchase.
    matched: u64,
    /// Event types that matched none, with counts (at most [`MAX_OTHER_TYPES`]).
    others: Vec<(Vec<u8>, u64)>,
}

impl<W: Write> EventsBuilder<W> {
    /// A builder writing rejects to `rejects`.
    pub fn new(cols: EventColumns, time: TimeOptions, rejects: W) -> Result<Self> {
        Ok(Self::with_log(
            cols,
            time,
            RejectLog::new(rejects).map_err(rejects_err)?,
        ))
    }

    fn with_log(cols: EventColumns, time: TimeOptions, rejects: RejectLog<W>) -> Self {
        let mut at = [None; 5];
        let mut next = 3;
        for (a, o) in at.iter_mut().zip(&cols.optional) {
            if o.is_some() {
                *a = Some(next);
                next += 1;
            }
        }
        EventsBuilder {
            cols,
            at,
            time,
            ids: Interner::default(),
            users: Vec::new(),
            sessions: KeyMap::default(),
            seen: KeySet::default(),
            rejects,
            lines: 0,
            used: 0,
            max_day: i64::MIN,
            last_time: (Vec::new(), 0),
            id_buf: Vec::new(),
            matched: 0,
            others: Vec::new(),
        }
    }

    fn reject(
        &mut self,
        row: u64,
        id: &[u8],
        why: &'static str,
        col: usize,
        v: &[u8],
    ) -> Result<()> {
        let d = detail(&self.cols.names[col], v);
        self.rejects.push(row, id, why, &d).map_err(rejects_err)
    }

    /// Adds one event; `f` holds the fields in [`EventColumns::wanted`] order.
    pub fn push(&mut self, row: u64, f: &[&[u8]]) -> Result<()> {
        self.lines += 1;
        let mut id_buf = std::mem::take(&mut self.id_buf);
        let id = normalise_id(f[0], &mut id_buf);
        let r = self.push_event(row, id, f);
        self.id_buf = id_buf;
        r
    }

    fn push_event(&mut self, row: u64, id: &[u8], f: &[&[u8]]) -> Result<()> {
        if id.is_empty() {
            return self.reject(row, id, reason::MISSING_USER, self.cols.user, f[0]);
        }
        let t = if f[1] == self.last_time.0.as_slice() {
            self.last_time.1
        } else {
            let Some(t) = self.time.timestamp(f[1]) else {
                return self.reject(row, id, reason::BAD_TIME, self.cols.time, f[1]);
            };
            self.last_time.0.clear();
            self.last_time.0.extend_from_slice(f[1]);
            self.last_time.1 = t;
            t
        };
        let kind = f[2].trim_ascii();
        if kind.is_empty() {
            return self.reject(row, id, reason::MISSING_TYPE, self.cols.kind, f[2]);
        }
        let is = |k: usize| {
            self.cols.vocab[k]
                .iter()
                .any(|w| kind.eq_ignore_ascii_case(w))
        };
        let (view, cart, purchase) = (is(0), is(1), is(2));
        let mut price = 0.0;
        if purchase {
            if let (Some(p), Some(col)) = (self.at[4], self.cols.optional[4]) {
                match parse_number(f[p]) {
                    Some(v) => price = v,
                    None => return self.reject(row, id, reason::BAD_PRICE, col, f[p]),
                }
            }
        }
        let day = day_of(t);
        if let Some(a) = self.time.as_of {
            if day > a {
                return self.reject(row, id, reason::AFTER_AS_OF, self.cols.time, f[1]);
            }
        }
        self.used += 1;
        if view || cart || purchase {
            self.matched += 1;
        } else {
            let full = self.others.len() >= MAX_OTHER_TYPES;
            match self.others.iter_mut().find(|(k, _)| k.as_slice() == kind) {
                Some((_, n)) => *n += 1,
                None if !full => self.others.push((kind.to_vec(), 1)),
                None => {}
            }
        }
        self.max_day = self.max_day.max(day);
        let (ix, new) = self.ids.intern(id);
        if new {
            self.users.push(User {
                events: 0,
                views: 0,
                carts: 0,
                purchases: 0,
                products: SmallDistinct::default(),
                categories: SmallDistinct::default(),
                brands: SmallDistinct::default(),
                active_days: SmallDistinct::default(),
                sessions: 0,
                session_events: 0,
                session_secs: 0,
                spend: 0.0,
                last_t: i64::MIN,
                last_day: i64::MIN,
                last_values: [NO_KEY; 3],
                cur_session: NO_KEY,
                cur_first: 0,
                cur_last: 0,
                closed: Vec::new(),
                sessions_shared: false,
            });
        }
        let u = &mut self.users[ix as usize];
        u.events += 1;
        u.views += view as u32;
        u.carts += cart as u32;
        u.purchases += purchase as u32;
        u.spend += price;
        u.last_t = u.last_t.max(t);
        if u.last_day != day {
            u.last_day = day;
            u.active_days.insert(day as u64, ix, 3, &mut self.seen);
        }
        for k in 0..3 {
            if let Some(p) = self.at[1 + k] {
                let v = f[p].trim_ascii();
                if v.is_empty() {
                    continue;
                }
                let id = hash_bytes(v);
                if id != u.last_values[k] {
                    u.last_values[k] = id;
                    let seen = &mut self.seen;
                    match k {
                        0 => u.products.insert(id, ix, 0, seen),
                        1 => u.categories.insert(id, ix, 1, seen),
                        _ => u.brands.insert(id, ix, 2, seen),
                    }
                }
            }
        }
        match self.at[0] {
            Some(p) => {
                let s = f[p].trim_ascii();
                if s.is_empty() {
                    return Ok(());
                }
                u.session_events += 1;
                let h = hash_bytes(s);
                if h == u.cur_session {
                    u.cur_first = u.cur_first.min(t);
                    u.cur_last = u.cur_last.max(t);
                } else {
                    if u.cur_session != NO_KEY {
                        flush_session(&mut self.sessions, ix, u);
                    }
                    u.cur_session = h;
                    u.cur_first = t;
                    u.cur_last = t;
                }
            }
            None => {
                u.session_events += 1;
                if u.cur_session == NO_KEY {
                    u.cur_session = 0;
                    u.cur_first = t;
                    u.cur_last = t;
                } else if t > u.cur_last + SESSION_GAP_SECS || t < u.cur_first - SESSION_GAP_SECS {
                    u.sessions += 1;
                    u.session_secs += u.cur_last - u.cur_first;
                    u.cur_first = t;
                    u.cur_last = t;
                } else {
                    u.cur_first = u.cur_first.min(t);
                    u.cur_last = u.cur_last.max(t);
                }
            }
        }
        Ok(())
    }

    /// Closes open sessions and computes every user's row.
    pub fn finish(self) -> Result<(EventFeatures, RejectLog<W>)> {
        let as_of = self.time.as_of.unwrap_or(next_day(self.max_day));
        let (lines, used) = (self.lines, self.used);
        let (mut rows, rejects) = self.into_rows(as_of);
        sort_rows(&mut rows);
        Ok((
            EventFeatures {
                rows,
                as_of,
                lines,
                lines_used: used,
            },
            rejects,
        ))
    }

    /// The users' rows, unordered, with recency counted to `as_of`.
    fn into_rows(mut self, as_of: i64) -> (Vec<EventRow>, RejectLog<W>) {
        let by_column = self.at[0].is_some();
        for (ix, u) in self.users.iter_mut().enumerate() {
            if u.cur_session == NO_KEY {
                continue;
            }
            if by_column {
                flush_session(&mut self.sessions, ix as u32, u);
            } else {
                u.sessions += 1;
                u.session_secs += u.cur_last - u.cur_first;
            }
            u.sessions += u.closed.len() as u32;
            u.session_secs += u.closed.iter().map(|&(_, a, b)| b - a).sum::<i64>();
        }
        // Integer sums: the map's iteration order does not matter.
        for (_, (ix, first, last)) in self.sessions.drain() {
            let u = &mut self.users[ix as usize];
            u.sessions += 1;
            u.session_secs += last - first;
        }
        let rows = self
            .users
            .iter()
            .zip(self.ids.ids())
            .map(|(u, id)| {
                let s = u.sessions as f64;
                EventRow {
                    customer_id: String::from_utf8_lossy(id).into_owned(),
                    events: u.events,
                    sessions: u.sessions,
                    views: u.views,
                    carts: u.carts,
                    purchases: u.purchases,
                    view_to_cart: ratio(u.carts as f64, u.views as f64),
                    cart_to_purchase: ratio(u.purchases as f64, u.carts as f64),
                    products: u.products.count,
                    categories: u.categories.count,
                    brands: u.brands.count,
                    spend: u.spend,
                    recency_days: as_of - day_of(u.last_t),
                    active_days: u.active_days.count,
                    session_events: ratio(u.session_events as f64, s),
                    session_minutes: ratio(u.session_secs as f64 / 60.0, s),
                }
            })
            .collect();
        (rows, self.rejects)
    }
}

/// The default as-of day: the day after the latest, or day 0 of an empty log.
fn next_day(max_day: i64) -> i64 {
    if max_day == i64::MIN {
        0
    } else {
        max_day + 1
    }
}

fn sort_rows(rows: &mut Vec<EventRow>) {
    let ids: Vec<&[u8]> = rows.iter().map(|r| r.customer_id.as_bytes()).collect();
    let order = id_order(&ids);
    let mut taken: Vec<Option<EventRow>> = std::mem::take(rows).into_iter().map(Some).collect();
    rows.extend(order.into_iter().filter_map(|i| taken[i].take()));
}

/// Merges a user's open session into the session map (a session id can recur after another).
fn flush_session(map: &mut KeyMap<(u32, i64, i64)>, ix: u32, u: &mut User) {
    if !u.sessions_shared {
        if let Some(s) = u.closed.iter_mut().find(|s| s.0 == u.cur_session) {
            s.1 = s.1.min(u.cur_first);
            s.2 = s.2.max(u.cur_last);
            return;
        }
        if u.closed.len() < SESSION_LIST {
            u.closed.push((u.cur_session, u.cur_first, u.cur_last));
            return;
        }
        for &(k, a, b) in &u.closed {
            map.insert(pair_key(ix, k, 4), (ix, a, b));
        }
        u.closed = Vec::new();
        u.sessions_shared = true;
    }
    map.entry(pair_key(ix, u.cur_session, 4))
        .and_modify(|(_, a, b)| {
            *a = (*a).min(u.cur_first);
            *b = (*b).max(u.cur_last);
        })
        .or_insert((ix, u.cur_first, u.cur_last));
}

fn rejects_err(e: std::io::Error) -> Error {
    Error::Data(format!("cannot write the rejects file: {e}"))
}

impl EventFeatures {
    /// The table as CSV with the [`EVENT_COLUMNS`] header.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut line = Vec::with_capacity(160 * (self.rows.len() + 1));
        line.extend_from_slice(EVENT_COLUMNS.join(",").as_bytes());
        line.push(b'\n');
        for r in &self.rows {
            push_csv_field(&mut line, r.customer_id.as_bytes());
            let _ = write!(
                line,
                ",{},{},{},{},{},",
                r.events, r.sessions, r.views, r.carts, r.purchases
            );
            push_decimal(&mut line, r.view_to_cart);
            line.push(b',');
            push_decimal(&mut line, r.cart_to_purchase);
            let _ = write!(line, ",{},{},{},", r.products, r.categories, r.brands);
            push_decimal(&mut line, r.spend);
            let _ = write!(line, ",{},{},", r.recency_days, r.active_days);
            push_decimal(&mut line, r.session_events);
            line.push(b',');
            push_decimal(&mut line, r.session_minutes);
            line.push(b'\n');
        }
        line
    }
}

/// Events handed to an aggregating worker per message.
const BATCH: usize = 4096;

/// A batch of events for one worker: the wanted fields of each, copied out of the parser's
/// buffers.
struct Batch {
    rows: Vec<u64>,
    ends: Vec<u32>,
    data: Vec<u8>,
}

impl Batch {
    fn new(width: usize) -> Batch {
        Batch {
            rows: Vec::with_capacity(BATCH),
            ends: Vec::with_capacity(BATCH * width),
            data: Vec::with_capacity(BATCH * 128),
        }
    }
    fn clear(&mut self) {
        self.rows.clear();
        self.ends.clear();
        self.data.clear();
    }
    fn push(&mut self, row: u64, f: &[&[u8]]) {
        self.rows.push(row);
        for x in f {
            self.data.extend_from_slice(x);
            self.ends.push(self.data.len() as u32);
        }
    }
}

/// Aggregating workers: users are split among them by a hash of their id, so each worker
/// holds whole users and sees their events in input order; the result does not depend on
/// the number of workers. Capped at 4: beyond that the single parser is the bottleneck.
fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
}

/// Reads `src` and builds the per-user table, streaming rejects to `rejects` (in row order).
pub fn build_events<W: Write>(
    src: &Source,
    cols: EventColumns,
    time: TimeOptions,
    rejects: W,
) -> Result<(EventFeatures, RejectLog<W>)> {
    build_events_with(src, cols, time, rejects, workers())
}

/// Fails when events were read but none is a view, cart or purchase: the log names its
/// event types in its own words, and every funnel feature would be zero.
fn check_vocabulary(
    src: &Source,
    vocab: &[Vec<Vec<u8>>; 3],
    used: u64,
    matched: u64,
    others: &[&[(Vec<u8>, u64)]],
) -> Result<()> {
    if used == 0 || matched > 0 {
        return Ok(());
    }
    let mut found: Vec<(Vec<u8>, u64)> = Vec::new();
    for part in others {
        for (k, n) in part.iter() {
            match found.iter_mut().find(|(f, _)| f == k) {
                Some((_, m)) => *m += n,
                None => found.push((k.clone(), *n)),
            }
        }
    }
    found.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let words = |v: &[Vec<u8>]| {
        v.iter()
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(Error::Data(format!(
        "{}: none of the {used} events is a view ({}), a cart ({}) or a purchase ({}); the event \
         types found are {}; say which are which with {}, {} and {}",
        src.path().display(),
        words(&vocab[0]),
        words(&vocab[1]),
        words(&vocab[2]),
        found
            .iter()
            .take(20)
            .map(|(k, n)| format!("'{}' ({n})", String::from_utf8_lossy(k)))
            .collect::<Vec<_>>()
            .join(", "),
        Param::ViewEvents,
        Param::CartEvents,
        Param::PurchaseEvents
    )))
}

/// [`build_events`] with a given number of aggregating workers (1: on the calling thread).
pub fn build_events_with<W: Write>(
    src: &Source,
    cols: EventColumns,
    time: TimeOptions,
    rejects: W,
    workers: usize,
) -> Result<(EventFeatures, RejectLog<W>)> {
    let wanted = cols.wanted();
    let vocab = cols.vocab.clone();
    if workers <= 1 {
        let mut b = EventsBuilder::new(cols, time, rejects)?;
        src.scan(&wanted, &mut |row, f| b.push(row, f))?;
        check_vocabulary(src, &vocab, b.used, b.matched, &[&b.others])?;
        return b.finish();
    }
    let width = wanted.len();
    let mut log = RejectLog::new(rejects).map_err(rejects_err)?;
    let builders = std::thread::scope(|scope| -> Result<Vec<EventsBuilder<Vec<u8>>>> {
        let mut lanes = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(4);
            let (back_tx, back_rx) = std::sync::mpsc::channel::<Batch>();
            let cols = cols.clone();
            let time = time.clone();
            handles.push(scope.spawn(move || -> Result<EventsBuilder<Vec<u8>>> {
                let mut b = EventsBuilder::with_log(cols, time, RejectLog::buffered());
                for batch in rx {
                    let mut start = 0usize;
                    for (i, &row) in batch.rows.iter().enumerate() {
                        let mut fields: [&[u8]; crate::io::source::MAX_FIELDS] =
                            [&[]; crate::io::source::MAX_FIELDS];
                        for (j, f) in fields[..width].iter_mut().enumerate() {
                            let end = batch.ends[i * width + j] as usize;
                            *f = &batch.data[start..end];
                            start = end;
                        }
                        b.push(row, &fields[..width])?;
                    }
                    let _ = back_tx.send(batch);
                }
                Ok(b)
            }));
            lanes.push((tx, back_rx, Batch::new(width)));
        }
        let mut id_buf = Vec::new();
        let stopped = || Error::Data("an aggregating thread stopped early".into());
        let scanned = src.scan(&wanted, &mut |row, f| {
            let id = normalise_id(f[0], &mut id_buf);
            // Rows without an id all go to worker 0, which rejects them.
            let k = if id.is_empty() {
                0
            } else {
                (hash_bytes(id) % workers as u64) as usize
            };
            let (tx, back, cur) = &mut lanes[k];
            cur.push(row, f);
            if cur.rows.len() >= BATCH {
                let fresh = match back.try_recv() {
                    Ok(mut b) => {
                        b.clear();
                        b
                    }
                    Err(_) => Batch::new(width),
                };
                tx.send(std::mem::replace(cur, fresh))
                    .map_err(|_| stopped())?;
            }
            Ok(())
        });
        let mut flushed = Ok(());
        for (tx, _, cur) in lanes {
            if !cur.rows.is_empty() && tx.send(cur).is_err() {
                flushed = Err(stopped());
            }
        }
        // Join every worker first: a worker's own error explains a closed channel.
        let results: Vec<Result<EventsBuilder<Vec<u8>>>> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Data("an aggregating thread panicked".into())))
            })
            .collect();
        let builders = results.into_iter().collect::<Result<Vec<_>>>()?;
        scanned?;
        flushed?;
        Ok(builders)
    })?;
    let lines = builders.iter().map(|b| b.lines).sum();
    let used = builders.iter().map(|b| b.used).sum();
    let matched = builders.iter().map(|b| b.matched).sum();
    let others: Vec<&[(Vec<u8>, u64)]> = builders.iter().map(|b| b.others.as_slice()).collect();
    check_vocabulary(src, &vocab, used, matched, &others)?;
    let max_day = builders.iter().map(|b| b.max_day).max().unwrap_or(i64::MIN);
    let as_of = time.as_of.unwrap_or(next_day(max_day));
    let mut rows = Vec::new();
    let mut parts = Vec::with_capacity(builders.len());
    for b in builders {
        let (r, rej) = b.into_rows(as_of);
        rows.extend(r);
        parts.push(rej);
    }
    sort_rows(&mut rows);
    log.merge(parts).map_err(rejects_err)?;
    Ok((
        EventFeatures {
            rows,
            as_of,
            lines,
            lines_used: used,
        },
        log,
    ))
}
