//! Flags to library parameters for `features`, `run --from` and the log generators.

use super::args::{
    EventsArgs, EventsGenArgs, FeaturesCommand, FromArgs, FromKind, InputArgs, LogArgs, RfmArgs,
    TransactionsArgs, TxGroupsArg,
};
use super::text;
use segmenter::error::Param;
use segmenter::features::events::EventFlags;
use segmenter::features::rfm::RfmFlags;
use segmenter::features::{parse_as_of, TimeOptions};
use segmenter::pipeline::derive::{Derivation, FeatureKind};
use segmenter::synth::{
    generate_events as gen_events, generate_transactions_from as gen_tx, BASKET_GROUPS, GROUPS,
};
use segmenter::synth::{EventsOutput, EventsSpec, TransactionsSpec};
use segmenter::{Error, Result};

fn derivation(
    kind: FeatureKind,
    input: &InputArgs,
    as_of: Option<&str>,
    threads: Option<usize>,
) -> Result<Derivation> {
    let source = super::convert::source_options(input, None)?;
    let as_of = as_of.map(|v| parse_as_of(v, input.dayfirst)).transpose()?;
    Ok(Derivation {
        kind,
        time: TimeOptions {
            as_of,
            dayfirst: input.dayfirst,
            format: input.date_format.clone(),
        },
        source,
        threads,
    })
}

/// `segmenter features rfm|events`.
pub fn run_features(f: FeaturesCommand) -> Result<String> {
    let (log, kind, threads): (LogArgs, FeatureKind, Option<usize>) = match f {
        FeaturesCommand::Rfm(RfmArgs {
            log,
            customer,
            date,
            amount,
            quantity,
            price,
            invoice,
        }) => (
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
        ),
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
            vocab,
            threads,
        }) => (
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
                view_events: vocab.view_events,
                cart_events: vocab.cart_events,
                purchase_events: vocab.purchase_events,
            }),
            threads,
        ),
    };
    let d = derivation(kind, &log.input, log.as_of.as_deref(), threads)?;
    let (s, _) = d.write(&log.file, &log.output, log.rejects.as_deref())?;
    if log.json {
        super::json(&s)
    } else {
        Ok(text::features(&s))
    }
}

/// `segmenter generate transactions`.
pub fn generate_transactions(a: TransactionsArgs) -> Result<String> {
    let groups: &[_] = match a.groups {
        TxGroupsArg::Rfm => &GROUPS,
        TxGroupsArg::Baskets => &BASKET_GROUPS,
    };
    gen_tx(
        &TransactionsSpec {
            customers: a.customers,
            seed: a.seed,
        },
        groups,
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
            gen_events(&spec, EventsOutput::Sqlite(db), a.truth.as_deref())?,
            db,
            " (table events)",
        ),
        (None, Some(o)) => (
            gen_events(&spec, EventsOutput::Csv(o), a.truth.as_deref())?,
            o,
            "",
        ),
        (None, None) => {
            return Err(Error::Data(format!(
                "give {} FILE or {} FILE",
                Param::Output,
                Param::Sqlite
            )))
        }
    };
    Ok(format!(
        "wrote {n} events of {} users to {}{what}\n",
        a.users,
        path.display()
    ))
}

/// `segmenter run --from`: the derivation the flags ask for, if any.
pub fn run_from(from: FromArgs, input: &InputArgs) -> Result<Option<Derivation>> {
    let Some(kind) = from.from else {
        return Ok(None);
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
            view_events: from.vocab.view_events,
            cart_events: from.vocab.cart_events,
            purchase_events: from.vocab.purchase_events,
        }),
    };
    derivation(kind, input, from.as_of.as_deref(), None).map(Some)
}
