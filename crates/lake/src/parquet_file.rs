//! The lake's file layout and Parquet schema.
//!
//! Layout (hive style, readable by DuckDB, pyarrow, Spark, Athena...):
//!
//! ```text
//! purchases/date=2025-05-26/branch=SMKT003/part-<first seq, 20 digits>-<last seq, 20 digits>.parquet
//! ```
//!
//! `date` is the UTC calendar date of `purchased_at`; `branch` is the
//! branch id. Each file holds the events of one roll (batch) for one
//! partition, ordered by stream sequence; its name comes from the batch's
//! first and last stream sequence, so writing a batch again produces the
//! same names (see the crate docs).
//!
//! Schema: one row per purchase, the items as a list of structs (DuckDB:
//! `unnest(items)`; pyarrow: `pc.list_flatten`). Ids are strings (UUIDs),
//! money is integer cents, times are microseconds in UTC.
//!
//! | column | type |
//! |---|---|
//! | `event_id` | string (UUID, = `purchase_id`) |
//! | `event_type` | string (`purchase.created`) |
//! | `schema_version` | int32 |
//! | `purchase_id` | string (UUID) |
//! | `branch_id` | string |
//! | `customer_id` | string (UUID) |
//! | `purchased_at` | timestamp(µs, UTC) |
//! | `total_cents` | int64 |
//! | `items` | list<struct<product_id: int32, product_name: string, unit_price_cents: int64>> |
//! | `stream_sequence` | int64 (JetStream stream sequence) |

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use arrow_array::builder::{
    Int32Builder, Int64Builder, ListBuilder, StringBuilder, StructBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use object_store::path::Path;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use supermarket_domain::PurchaseCreated;

/// The folder of the raw purchase events, under the lake root.
pub const DATASET: &str = "purchases";

/// One event read from the stream, with its stream sequence.
#[derive(Clone, Debug)]
pub struct Row {
    pub seq: u64,
    pub event: PurchaseCreated,
}

/// A hive partition: `date=<UTC date>/branch=<branch id>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Partition {
    pub date: chrono::NaiveDate,
    pub branch: String,
}

impl Partition {
    pub fn of(event: &PurchaseCreated) -> Partition {
        Partition {
            date: event.purchased_at.date_naive(),
            branch: event.branch_id.clone(),
        }
    }

    /// The object path, under the lake root, of this partition's file for
    /// the batch spanning stream sequences `first..=last`. Path parts are
    /// percent-encoded by `object_store`, so an odd branch id cannot escape
    /// its folder.
    pub fn object_path(&self, first: u64, last: u64) -> Path {
        Path::from_iter([
            DATASET.to_owned(),
            format!("date={}", self.date.format("%Y-%m-%d")),
            format!("branch={}", self.branch),
            format!("part-{first:020}-{last:020}.parquet"),
        ])
    }
}

/// Groups rows by partition, keeping stream order inside each group.
pub fn by_partition(rows: impl IntoIterator<Item = Row>) -> BTreeMap<Partition, Vec<Row>> {
    let mut groups: BTreeMap<Partition, Vec<Row>> = BTreeMap::new();
    for row in rows {
        groups
            .entry(Partition::of(&row.event))
            .or_default()
            .push(row);
    }
    for rows in groups.values_mut() {
        rows.sort_by_key(|row| row.seq);
    }
    groups
}

/// The files of one batch: path under the lake root, and its rows.
pub type Files = Vec<(Path, Vec<Row>)>;

/// The files of the batch spanning sequences `first..=last`: one per
/// partition, named after the batch.
pub fn files(first: u64, last: u64, rows: impl IntoIterator<Item = Row>) -> Files {
    by_partition(rows)
        .into_iter()
        .map(|(partition, rows)| (partition.object_path(first, last), rows))
        .collect()
}

/// Of rows sharing an event id, keeps the one with the lowest sequence.
/// Returns the kept rows in sequence order and how many were dropped.
pub fn first_copies(rows: impl IntoIterator<Item = Row>) -> (Vec<Row>, usize) {
    let mut rows: Vec<Row> = rows.into_iter().collect();
    rows.sort_by_key(|row| row.seq);
    let before = rows.len();
    let mut seen = std::collections::HashSet::new();
    rows.retain(|row| seen.insert(row.event.event_id));
    let dropped = before - rows.len();
    (rows, dropped)
}

fn item_fields() -> Fields {
    Fields::from(vec![
        Field::new("product_id", DataType::Int32, false),
        Field::new("product_name", DataType::Utf8, false),
        Field::new("unit_price_cents", DataType::Int64, false),
    ])
}

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The Arrow schema of the lake's files.
pub fn schema() -> SchemaRef {
    let item = Field::new("item", DataType::Struct(item_fields()), false);
    Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("schema_version", DataType::Int32, false),
        Field::new("purchase_id", DataType::Utf8, false),
        Field::new("branch_id", DataType::Utf8, false),
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("purchased_at", timestamp_type(), false),
        Field::new("total_cents", DataType::Int64, false),
        Field::new("items", DataType::List(Arc::new(item)), false),
        Field::new("stream_sequence", DataType::Int64, false),
    ]))
}

/// The rows as one Arrow record batch.
pub fn record_batch(rows: &[Row]) -> anyhow::Result<RecordBatch> {
    let n = rows.len();
    let mut event_id = StringBuilder::with_capacity(n, n * 36);
    let mut event_type = StringBuilder::with_capacity(n, n * 16);
    let mut schema_version = Int32Builder::with_capacity(n);
    let mut purchase_id = StringBuilder::with_capacity(n, n * 36);
    let mut branch_id = StringBuilder::with_capacity(n, n * 8);
    let mut customer_id = StringBuilder::with_capacity(n, n * 36);
    let mut purchased_at =
        TimestampMicrosecondBuilder::with_capacity(n).with_data_type(timestamp_type());
    let mut total_cents = Int64Builder::with_capacity(n);
    let mut items = ListBuilder::with_capacity(StructBuilder::from_fields(item_fields(), n * 4), n)
        .with_field(Field::new("item", DataType::Struct(item_fields()), false));
    let mut stream_sequence = Int64Builder::with_capacity(n);

    for Row { seq, event } in rows {
        event_id.append_value(event.event_id.to_string());
        event_type.append_value(&event.event_type);
        schema_version.append_value(
            i32::try_from(event.schema_version).context("schema_version out of range")?,
        );
        purchase_id.append_value(event.purchase_id.to_string());
        branch_id.append_value(&event.branch_id);
        customer_id.append_value(event.customer_id.to_string());
        purchased_at.append_value(event.purchased_at.timestamp_micros());
        total_cents.append_value(event.total_cents);
        let item_builder = items.values();
        for item in &event.items {
            // The field builders were made from item_fields() just above:
            // their types cannot differ.
            item_builder
                .field_builder::<Int32Builder>(0)
                .expect("product_id builder")
                .append_value(item.product_id);
            item_builder
                .field_builder::<StringBuilder>(1)
                .expect("product_name builder")
                .append_value(&item.product_name);
            item_builder
                .field_builder::<Int64Builder>(2)
                .expect("unit_price_cents builder")
                .append_value(item.unit_price_cents);
            item_builder.append(true);
        }
        items.append(true);
        stream_sequence.append_value(i64::try_from(*seq).context("stream sequence out of range")?);
    }

    let columns: Vec<ArrayRef> = vec![
        Arc::new(event_id.finish()),
        Arc::new(event_type.finish()),
        Arc::new(schema_version.finish()),
        Arc::new(purchase_id.finish()),
        Arc::new(branch_id.finish()),
        Arc::new(customer_id.finish()),
        Arc::new(purchased_at.finish()),
        Arc::new(total_cents.finish()),
        Arc::new(items.finish()),
        Arc::new(stream_sequence.finish()),
    ];
    RecordBatch::try_new(schema(), columns)
        .context("the lake's record batch does not match its schema")
}

/// The rows as a complete Parquet file (snappy-compressed). The same rows
/// always give the same bytes.
pub fn encode(rows: &[Row]) -> anyhow::Result<Bytes> {
    let batch = record_batch(rows)?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut buffer = Vec::with_capacity(rows.len() * 128 + 4096);
    let mut writer = ArrowWriter::try_new(&mut buffer, batch.schema(), Some(properties))
        .context("cannot start a Parquet file")?;
    writer
        .write(&batch)
        .context("cannot write a Parquet row group")?;
    writer.close().context("cannot finish a Parquet file")?;
    Ok(Bytes::from(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use supermarket_domain::event::EventItem;

    fn event(branch: &str, at: &str) -> PurchaseCreated {
        let items = vec![
            EventItem {
                product_id: 1,
                product_name: "milk".into(),
                unit_price_cents: 150,
            },
            EventItem {
                product_id: 2,
                product_name: "eggs".into(),
                unit_price_cents: 300,
            },
        ];
        PurchaseCreated::new(
            uuid::Uuid::new_v4(),
            branch,
            uuid::Uuid::new_v4(),
            at.parse().unwrap(),
            items,
        )
    }

    #[test]
    fn names_files_by_utc_date_branch_and_sequence_range() {
        let partition = Partition::of(&event("SMKT003", "2025-05-26T23:30:00-02:00"));
        assert_eq!(
            partition.object_path(7, 42).as_ref(),
            "purchases/date=2025-05-27/branch=SMKT003/part-00000000000000000007-00000000000000000042.parquet"
        );
        let odd = Partition {
            branch: "../x/y".into(),
            ..partition
        };
        assert_eq!(
            odd.object_path(1, 1).parts().count(),
            4,
            "a branch id stays one path part"
        );
    }

    #[test]
    fn groups_by_partition_in_stream_order() {
        let rows = vec![
            Row {
                seq: 3,
                event: event("SMKT001", "2025-05-26T10:00:00Z"),
            },
            Row {
                seq: 1,
                event: event("SMKT001", "2025-05-26T11:00:00Z"),
            },
            Row {
                seq: 2,
                event: event("SMKT002", "2025-05-26T10:00:00Z"),
            },
        ];
        let groups = by_partition(rows);
        assert_eq!(groups.len(), 2);
        let first: Vec<u64> = groups
            .values()
            .next()
            .unwrap()
            .iter()
            .map(|row| row.seq)
            .collect();
        assert_eq!(first, vec![1, 3]);
    }

    #[test]
    fn keeps_the_first_copy_of_a_repeated_event() {
        let original = event("SMKT001", "2025-05-26T10:00:00Z");
        let other = event("SMKT002", "2025-05-26T10:00:00Z");
        let rows = vec![
            Row {
                seq: 9,
                event: original.clone(),
            },
            Row {
                seq: 4,
                event: original.clone(),
            },
            Row {
                seq: 5,
                event: other,
            },
        ];
        let (kept, dropped) = first_copies(rows);
        assert_eq!(dropped, 1);
        assert_eq!(
            kept.iter().map(|row| row.seq).collect::<Vec<_>>(),
            vec![4, 5]
        );
        let files = files(4, 9, kept);
        assert_eq!(files.len(), 2);
        assert!(
            files[0]
                .0
                .as_ref()
                .ends_with("part-00000000000000000004-00000000000000000009.parquet")
        );
    }

    #[test]
    fn encodes_the_same_rows_to_the_same_bytes() {
        let rows = vec![
            Row {
                seq: 1,
                event: event("SMKT001", "2025-05-26T10:00:00.123456Z"),
            },
            Row {
                seq: 2,
                event: event("SMKT001", "2025-05-26T10:00:01Z"),
            },
        ];
        let batch = record_batch(&rows).unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema(), schema());
        let bytes = encode(&rows).unwrap();
        assert_eq!(&bytes[..4], b"PAR1");
        assert_eq!(bytes, encode(&rows).unwrap());
    }
}
