//! Owns how hale writes its log: text for people, or one JSON object per
//! line for machines. The JSON is written here rather than by
//! tracing-subscriber's own formatter so that fields holding lists (the
//! `names` of a target) are JSON arrays, numbers stay numbers, and every
//! field sits at the top level beside `timestamp`, `level`, `target` (the
//! module) and `message`. Fields are named so as not to clash with those.

use std::fmt;
use std::time::SystemTime;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `timestamp LEVEL module: message key=value …`
    Text,
    /// One JSON object per line.
    Json,
}

/// Fields logged with `?` whose Debug text is a list: written as arrays.
const LIST_FIELDS: [&str; 3] = ["names", "addresses", "zones"];

/// Names that the line itself uses: a field so named is written with a
/// `field_` prefix rather than overwrite it.
const RESERVED: [&str; 4] = ["timestamp", "level", "target", "message"];

/// Installs the global subscriber: `RUST_LOG` (default `info`) filters, to
/// standard error, in `format`.
pub fn init(format: Format) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal: log files and journald would
    // keep the escape codes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        Format::Text => builder.with_ansi(ansi).init(),
        Format::Json => builder.with_ansi(false).event_format(Json).init(),
    }
}

/// The JSON line format.
pub struct Json;

impl<S, N> FormatEvent<S, N> for Json
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writeln!(writer, "{}", line(event, SystemTime::now()))
    }
}

/// One event as a JSON object.
fn line(event: &Event<'_>, at: SystemTime) -> Value {
    let meta = event.metadata();
    let mut object = Map::new();
    object.insert(
        "timestamp".into(),
        humantime::format_rfc3339_micros(at).to_string().into(),
    );
    object.insert("level".into(), meta.level().as_str().into());
    object.insert("target".into(), meta.target().into());
    event.record(&mut Fields(&mut object));
    Value::Object(object)
}

/// Writes an event's fields into a JSON object.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Fields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        let key = match name != "message" && RESERVED.contains(&name) {
            true => format!("field_{name}"),
            false => name.to_string(),
        };
        self.0.insert(key, value);
    }
}

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        let value = match LIST_FIELDS.contains(&field.name()) {
            true => serde_json::from_str::<Vec<Value>>(&text)
                .map(Value::Array)
                .unwrap_or(Value::String(text)),
            false => Value::String(text),
        };
        self.put(field, value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }
}
