//! The tables `ingest all` prints: the ceiling, then one table of load
//! levels per series, each headed by what was running.

use crate::AllArgs;
use crate::ceiling::Ceiling;
use crate::load::Level;

/// (1): the ceiling at each batch size.
pub fn print_ceiling(args: &AllArgs, ceilings: &[Ceiling]) {
    println!();
    println!(
        "(1) PostgreSQL ceiling: same batch SQL, {} writer connections, no HTTP",
        args.writers
    );
    println!("    {:>8} {:>14}", "batch", "purchases/s");
    for c in ceilings {
        println!(
            "    {:>8} {:>14.0}   ({} writers)",
            c.batch, c.purchases_per_s, c.writers
        );
    }
}

/// (2): one series of load levels, `running` saying what ran meanwhile.
pub fn print_levels(
    args: &AllArgs,
    running: &str,
    levels: &[Level],
    hwm: f64,
    ceilings: &[Ceiling],
) {
    println!();
    println!(
        "(2) end to end through the purchases service (writers {}, batch max {}, batch wait {} ms); running: {running}",
        args.writers, args.batch_max, args.batch_wait_ms
    );
    println!(
        "    {:>6} {:>12} {:>8} {:>8} {:>8} {:>9} {:>7} {:>9} {:>9} {:>12}",
        "conc",
        "purchases/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "avg batch",
        "RSS MiB",
        "vs ceiling"
    );
    for l in levels {
        let shape = l.avg_batch.round().max(1.0) as usize;
        let ceiling = ceilings
            .iter()
            .find(|c| c.batch == shape)
            .map_or(f64::NAN, |c| c.purchases_per_s);
        println!(
            "    {:>6} {:>12.0} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>7} {:>9.1} {:>9.1} {:>11.0}%",
            l.concurrency,
            l.purchases_per_s,
            l.p50_ms,
            l.p90_ms,
            l.p99_ms,
            l.max_ms,
            l.errors,
            l.avg_batch,
            l.peak_rss_mib,
            100.0 * l.purchases_per_s / ceiling
        );
    }
    println!("    purchases service peak RSS (VmHWM) over the series: {hwm:.1} MiB");
}
