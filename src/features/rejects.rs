//! The rejects file of a feature build: `row,customer_id,reason,detail`, one line per input
//! row (or customer) left out, streamed as found so memory does not grow with bad lines.

use std::io::Write;

/// Header of every rejects file.
pub const REJECTS_HEADER: &str = "row,customer_id,reason,detail";

/// Streams rejects to `out` and counts them per reason, in order of first appearance.
pub struct RejectLog<W: Write> {
    out: W,
    counts: Vec<(&'static str, u64)>,
    examples: Vec<(&'static str, String)>,
    line: Vec<u8>,
    /// (row, end offset, reason) of each line, kept only by [`RejectLog::buffered`] logs so
    /// that the logs of parallel workers can be merged in row order.
    marks: Option<Vec<Mark>>,
}

/// Where a buffered reject line ends: (row, end offset, reason).
type Mark = (u64, usize, &'static str);

impl<W: Write> RejectLog<W> {
    /// Writes the header to `out`.
    pub fn new(mut out: W) -> std::io::Result<Self> {
        writeln!(out, "{REJECTS_HEADER}")?;
        Ok(RejectLog {
            out,
            examples: Vec::new(),
            counts: Vec::new(),
            line: Vec::with_capacity(256),
            marks: None,
        })
    }

    fn count(&mut self, reason: &'static str) {
        match self.counts.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((reason, 1)),
        }
    }

    /// Copies the lines of buffered logs (each in row order) into this one, in row order;
    /// ties keep the order of `parts`.
    pub fn merge(&mut self, parts: Vec<RejectLog<Vec<u8>>>) -> std::io::Result<()> {
        for p in &parts {
            for (r, d) in &p.examples {
                if !self.examples.iter().any(|(s, _)| s == r) {
                    self.examples.push((r, d.clone()));
                }
            }
        }
        let parts: Vec<(Vec<u8>, Vec<Mark>)> = parts
            .into_iter()
            .map(|p| (p.out, p.marks.unwrap_or_default()))
            .collect();
        let mut next = vec![0usize; parts.len()];
        loop {
            let pick = (0..parts.len())
                .filter(|&k| next[k] < parts[k].1.len())
                .min_by_key(|&k| parts[k].1[next[k]].0);
            let Some(k) = pick else { return Ok(()) };
            let (buf, marks) = &parts[k];
            let start = if next[k] == 0 {
                0
            } else {
                marks[next[k] - 1].1
            };
            let (_, end, reason) = marks[next[k]];
            next[k] += 1;
            self.count(reason);
            self.out.write_all(&buf[start..end])?;
        }
    }

    /// Records one reject: the 1-based input row, the customer id as read (may be empty), a
    /// fixed reason and a detail naming the column and value at fault.
    pub fn push(
        &mut self,
        row: u64,
        customer: &[u8],
        reason: &'static str,
        detail: &[u8],
    ) -> std::io::Result<()> {
        self.count(reason);
        if !self.examples.iter().any(|(r, _)| *r == reason) {
            self.examples
                .push((reason, String::from_utf8_lossy(detail).into_owned()));
        }
        self.line.clear();
        self.line.extend_from_slice(row.to_string().as_bytes());
        self.line.push(b',');
        crate::io::table::push_csv_field(&mut self.line, customer.trim_ascii());
        self.line.push(b',');
        self.line.extend_from_slice(reason.as_bytes());
        self.line.push(b',');
        crate::io::table::push_csv_field(&mut self.line, detail);
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        if let Some(m) = self.marks.as_mut() {
            let end = m.last().map_or(0, |x| x.1) + self.line.len();
            m.push((row, end, reason));
        }
        Ok(())
    }

    /// The first detail recorded for each reason (`InvoiceDate='2021/18/04'`).
    pub fn examples(&self) -> &[(&'static str, String)] {
        &self.examples
    }

    /// Rejects per reason, in order of first appearance.
    pub fn counts(&self) -> &[(&'static str, u64)] {
        &self.counts
    }

    /// Total rejects.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl RejectLog<Vec<u8>> {
    /// A log kept in memory with its row marks, for a worker whose log is merged later; it
    /// has no header.
    pub fn buffered() -> Self {
        RejectLog {
            out: Vec::new(),
            counts: Vec::new(),
            examples: Vec::new(),
            line: Vec::with_capacity(256),
            marks: Some(Vec::new()),
        }
    }
}

/// `COLUMN='value'` (the value cut to 60 characters), the detail of a field-level reject.
pub fn detail(column: &str, value: &[u8]) -> Vec<u8> {
    let v = String::from_utf8_lossy(value);
    let v: String = v.chars().take(60).collect();
    format!("{column}='{v}'").into_bytes()
}
