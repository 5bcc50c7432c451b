//! Flag-to-configuration glue for `features` and the log generators, kept apart from
//! `main.rs` so the subcommands of other issues merge cleanly.

use crate::cli::{
    EventsArgs, EventsGenArgs, FeaturesCommand, FromArgs, FromKind, LogArgs, RfmArgs,
    TransactionsArgs,
};
use segmenter::commands::{run_features as run, FeatureKind, FeaturesCommand as Cmd};
use segmenter::features::events::EventFlags;
use segmenter::features::rfm::RfmFlags;
use segmenter::features::{parse_as_of, TimeOptions};
use segmenter::io::SourceOptions;
use segmenter::synth::{generate_events as gen_events, generate_transactions as gen_tx};
use segmenter::synth::{EventsOutput, EventsSpec, TransactionsSpec};
use segmenter::{Error, Result};

fn command(log: LogArgs, kind: FeatureKind, threads: Option<usize>) -> Result<(Cmd, bool)> {
    let as_of = log
        .as_of
        .as_deref()
        .map(|v| parse_as_of(v, log.dayfirst))
        .transpose()?;
    Ok((
        Cmd {
            input: log.file,
            source: SourceOptions {
                table: log.table,
                query: log.query,
            },
            output: log.output,
            rejects: log.rejects,
            time: TimeOptions {
                as_of,
                dayfirst: log.dayfirst,
            },
            kind,
            threads,
        },
        log.json,
    ))
}

/// `segmenter features rfm|events`.
pub fn run_features(f: FeaturesCommand) -> Result<String> {
    let (cmd, json) = match f {
        FeaturesCommand::Rfm(RfmArgs {
            log,
            customer,
            date,
            amount,
            quantity,
            price,
            invoice,
        }) => command(
            log,
            FeatureKind::Rfm(RfmFlags {
                customer,
                date,
                amount,
                quantity,
                price,
                invoice,
            }),
            None,
        )?,
        FeaturesCommand::Events(EventsArgs {
            log,
            user,
            time,
            kind,
            session,
            product,
            category,
            brand,
            price,
            threads,
        }) => command(
            log,
            FeatureKind::Events(EventFlags {
                user,
                time,
                kind,
                session,
                product,
                category,
                brand,
                price,
            }),
            threads,
        )?,
    };
    let s = run(&cmd)?;
    if json {
        serde_json::to_string_pretty(&s)
            .map(|s| s + "\n")
            .map_err(|e| Error::Data(e.to_string()))
    } else {
        Ok(s.to_text())
    }
}

/// `segmenter generate transactions`.
pub fn generate_transactions(a: TransactionsArgs) -> Result<String> {
    gen_tx(
        &TransactionsSpec {
            customers: a.customers,
            seed: a.seed,
        },
        &a.output,
        a.truth.as_deref(),
    )?;
    Ok(format!(
        "wrote invoice lines of {} customers to {}\n",
        a.customers,
        a.output.display()
    ))
}

/// `segmenter generate events`.
pub fn generate_events(a: EventsGenArgs) -> Result<String> {
    let spec = EventsSpec {
        users: a.users,
        seed: a.seed,
    };
    let (n, path, what) = match (&a.sqlite, &a.output) {
        (Some(db), _) => (
            gen_events(&spec, EventsOutput::Sqlite(db))?,
            db,
            " (table events)",
        ),
        (None, Some(o)) => (gen_events(&spec, EventsOutput::Csv(o))?, o, ""),
        (None, None) => return Err(Error::Data("give -o FILE or --sqlite FILE".into())),
    };
    Ok(format!(
        "wrote {n} events of {} users to {}{what}\n",
        a.users,
        path.display()
    ))
}

/// `segmenter run --from`: derives the customer table and adapts `run` to it; returns the
/// derivation's summary text (empty without --from).
pub fn prepare_run_from(
    from: FromArgs,
    run: &mut segmenter::commands::RunCommand,
) -> Result<String> {
    let Some(kind) = from.from else {
        return Ok(String::new());
    };
    let kind = match kind {
        FromKind::Transactions => FeatureKind::Rfm(RfmFlags {
            customer: from.customer,
            date: from.date,
            amount: from.amount,
            quantity: from.quantity,
            price: from.price,
            invoice: from.invoice,
        }),
        FromKind::Events => FeatureKind::Events(EventFlags {
            user: from.user,
            time: from.time,
            kind: from.kind,
            session: from.session,
            product: from.product,
            category: from.category,
            brand: from.brand,
            price: from.price,
        }),
    };
    let as_of = from
        .as_of
        .as_deref()
        .map(|v| parse_as_of(v, from.dayfirst))
        .transpose()?;
    let s = segmenter::commands::features::prepare_run_from(
        &kind,
        SourceOptions {
            table: from.table,
            query: from.query,
        },
        TimeOptions {
            as_of,
            dayfirst: from.dayfirst,
        },
        run,
    )?;
    Ok(s.to_text())
}
