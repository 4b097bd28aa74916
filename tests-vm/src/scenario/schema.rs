//! The scenario file's schema, derived: what serde reads from the TOML.
//!
//! Every table refuses a key it does not declare (`deny_unknown_fields`),
//! and every value that a later check must point at keeps its position
//! (`Spanned`), so an error names the exact line however the file is
//! written: `[host]` with `physmem = ...`, `host = { physmem = ... }` or
//! `host.physmem = ...`. A value that is malformed in itself (a size that
//! is not a size, a guest name of 65 characters, an admin command the
//! admin's tool would not parse) is refused here, while it is read, and
//! the TOML deserializer puts the value's own position on the error.
//! What needs more than one value (an ARC larger than the host, an event
//! after the end of the run) is checked afterwards, in `load.rs`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

use super::admin_syntax;
use super::rsrvrctl::Rsrvrctl;
use super::types::Generation;
use super::units::{parse_duration, parse_size};
use crate::params::HZ;

/// The whole file.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, expecting = "a scenario file")]
pub(super) struct ScenarioFile {
    pub name: Option<String>,
    pub description: Option<String>,
    pub host: Spanned<HostTable>,
    pub arc: Option<Spanned<ArcTable>>,
    pub workload: Option<WorkloadTable>,
    pub sim: Option<SimTable>,
    pub boot: Option<BootTable>,
    #[serde(default)]
    pub event: EventList,
}

/// `[host]`: the host's memory at the start.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [host] table")]
pub(super) struct HostTable {
    pub physmem: Spanned<Size>,
    pub kernel: Option<Size>,
    pub boot: Option<Size>,
    pub anon: Option<Size>,
    pub exec: Option<Size>,
    pub page_cache: Option<Size>,
    pub generation: Option<GenerationName>,
}

/// `[arc]`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [arc] table")]
pub(super) struct ArcTable {
    pub size: Option<Spanned<Size>>,
}

/// `[workload]`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [workload] table")]
pub(super) struct WorkloadTable {
    pub arcfill: Option<Size>,
}

/// `[sim]`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [sim] table")]
pub(super) struct SimTable {
    pub duration: Option<Spanned<Duration>>,
    pub evict_rate: Option<Spanned<Size>>,
    pub alloc_rate: Option<Spanned<Size>>,
}

/// `[boot]`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [boot] table")]
pub(super) struct BootTable {
    pub etc_system: Option<EtcSystemLines>,
}

/// One `[[event]]`: `at` and one action (which one is checked after
/// reading, so that the error can name both of two).
#[derive(serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an [[event]] table (at and one action)"
)]
pub(super) struct EventTable {
    pub at: Spanned<Duration>,
    pub vm_create: Option<Spanned<VmCreateTable>>,
    pub vm_destroy: Option<Spanned<Command>>,
    pub kstat_write: Option<Spanned<KstatWriteCommand>>,
    pub mdb_write: Option<Spanned<MdbWriteCommand>>,
    pub kstat_read: Option<Spanned<KstatReadCommand>>,
    pub memstat: Option<Spanned<True>>,
    pub arcfill: Option<Spanned<Size>>,
    pub alloc_fault: Option<Spanned<AllocFaultTable>>,
    pub evictor_stall: Option<Spanned<Duration>>,
    pub rsrvrctl: Option<Spanned<RsrvrctlCommand>>,
}

/// `vm_create = { name = "...", ram = "..." }`.
#[derive(serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a guest, { name = \"...\", ram = \"...\" }"
)]
pub(super) struct VmCreateTable {
    pub name: GuestName,
    pub ram: Size,
}

/// `alloc_fault = { vm = "...", after = "...", times = N }`.
#[derive(serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a fault, { vm = \"...\", after = \"...\" }"
)]
pub(super) struct AllocFaultTable {
    pub vm: Spanned<GuestName>,
    pub after: Size,
    pub times: Option<Times>,
}

/// The `[[event]]` tables, in file order.
#[derive(Default)]
pub(super) struct EventList(pub Vec<Spanned<EventTable>>);

impl<'de> Deserialize<'de> for EventList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EventList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[[event]] tables")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventList, A::Error> {
                let mut events = Vec::new();
                while let Some(e) = seq.next_element()? {
                    events.push(e);
                }
                Ok(EventList(events))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A size in bytes: an integer, or a string [`parse_size`] reads.
pub(super) struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size (a number of bytes, or a string such as \"64G\")")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom(format!("{v} is not a size: a size is not negative")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                parse_size(v).map(Size).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration in ticks: whole seconds as an integer, or a string
/// [`parse_duration`] reads.
pub(super) struct Duration(pub u64);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration (a string such as \"10s\", or whole seconds)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                v.checked_mul(HZ)
                    .map(Duration)
                    .ok_or_else(|| E::custom(format!("{v} is not a duration: too long")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                match u64::try_from(v) {
                    Ok(s) => self.visit_u64(s),
                    Err(_) => Err(E::custom(format!(
                        "{v} is not a duration: a duration is not negative"
                    ))),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map(Duration).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// `generation`: `"2021"` (or the integer 2021) or `"current"`.
pub(super) struct GenerationName(pub Generation);

impl<'de> Deserialize<'de> for GenerationName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = GenerationName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an arc_init() generation, \"2021\" or \"current\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<GenerationName, E> {
                match v {
                    2021 => Ok(GenerationName(Generation::Y2021)),
                    _ => Err(E::custom(format!(
                        "{v} is not an arc_init() generation (expected \"2021\" or \"current\")"
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<GenerationName, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GenerationName, E> {
                match v {
                    "2021" => Ok(GenerationName(Generation::Y2021)),
                    "current" => Ok(GenerationName(Generation::Current)),
                    _ => Err(E::custom(format!(
                        "{v:?} is not an arc_init() generation (expected \"2021\" or \"current\")"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A guest's name: 1 to 64 characters, as written.
pub(super) struct GuestName(pub String);

impl<'de> Deserialize<'de> for GuestName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = GuestName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a guest name of 1 to 64 characters")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GuestName, E> {
                if v.is_empty() || v.len() > 64 {
                    Err(E::custom(format!(
                        "{v:?} is not a guest name (expected 1 to 64 characters)"
                    )))
                } else {
                    Ok(GuestName(v.to_string()))
                }
            }
        }
        d.deserialize_str(V)
    }
}

/// What a command must be beyond a non-empty string.
pub(super) trait CommandSyntax {
    /// What the command is, for "expected ...".
    const WHAT: &'static str;
    /// `Ok` if the trimmed text parses.
    fn check(text: &str) -> Result<(), String>;
}

/// A command or name: a non-empty string, kept trimmed, whose syntax `S`
/// checks.
pub(super) struct Checked<S> {
    pub text: String,
    syntax: PhantomData<S>,
}

impl<'de, S: CommandSyntax> Deserialize<'de> for Checked<S> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<S>(PhantomData<S>);
        impl<S: CommandSyntax> Visitor<'_> for V<S> {
            type Value = Checked<S>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(S::WHAT)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Checked<S>, E> {
                let text = v.trim();
                if text.is_empty() {
                    return Err(E::custom(format!("{v:?} is empty (expected {})", S::WHAT)));
                }
                S::check(text).map_err(E::custom)?;
                Ok(Checked {
                    text: text.to_string(),
                    syntax: PhantomData,
                })
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// `vm_destroy`: a guest's name.
pub(super) struct AnyName;
impl CommandSyntax for AnyName {
    const WHAT: &'static str = "the name of a guest";
    fn check(_: &str) -> Result<(), String> {
        Ok(())
    }
}

/// `kstat_write`.
pub(super) struct KstatWriteSyntax;
impl CommandSyntax for KstatWriteSyntax {
    const WHAT: &'static str = "a kstat write, \"module:instance:name:statistic=value\"";
    fn check(text: &str) -> Result<(), String> {
        admin_syntax::kstat_write(text)
    }
}

/// `mdb_write`.
pub(super) struct MdbWriteSyntax;
impl CommandSyntax for MdbWriteSyntax {
    const WHAT: &'static str = "an mdb write, \"variable/Z value\"";
    fn check(text: &str) -> Result<(), String> {
        admin_syntax::mdb_write(text)
    }
}

/// `kstat_read`.
pub(super) struct KstatReadSyntax;
impl CommandSyntax for KstatReadSyntax {
    const WHAT: &'static str = "a kstat selector, \"module:instance:name:statistic\"";
    fn check(text: &str) -> Result<(), String> {
        admin_syntax::kstat_read(text)
    }
}

pub(super) type Command = Checked<AnyName>;
pub(super) type KstatWriteCommand = Checked<KstatWriteSyntax>;
pub(super) type MdbWriteCommand = Checked<MdbWriteSyntax>;
pub(super) type KstatReadCommand = Checked<KstatReadSyntax>;

/// `rsrvrctl`: the tool's command line, read as it reads it.
pub(super) struct RsrvrctlCommand(pub Rsrvrctl);

impl<'de> Deserialize<'de> for RsrvrctlCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RsrvrctlCommand;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an rsrvrctl command line, \"-a 65536\" (sizes in MiB)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RsrvrctlCommand, E> {
                Rsrvrctl::parse(v).map(RsrvrctlCommand).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// `etc_system`: the lines, in order.
pub(super) struct EtcSystemLines(pub Vec<EtcSystemLine>);

impl<'de> Deserialize<'de> for EtcSystemLines {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EtcSystemLines;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of /etc/system lines, [ \"set ...\" ]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EtcSystemLines, A::Error> {
                let mut lines = Vec::new();
                while let Some(l) = seq.next_element()? {
                    lines.push(l);
                }
                Ok(EtcSystemLines(lines))
            }
        }
        d.deserialize_seq(V)
    }
}

/// One `/etc/system` line, as written: krtld judges it at boot.
pub(super) struct EtcSystemLine(pub String);

impl<'de> Deserialize<'de> for EtcSystemLine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = EtcSystemLine;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an /etc/system line (a string)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EtcSystemLine, E> {
                Ok(EtcSystemLine(v.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// `memstat = true`.
pub(super) struct True;

impl<'de> Deserialize<'de> for True {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = True;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<True, E> {
                if v {
                    Ok(True)
                } else {
                    Err(E::custom(
                        "false is not an action (expected true, or no memstat at all)",
                    ))
                }
            }
        }
        d.deserialize_bool(V)
    }
}

/// `alloc_fault.times`: a positive integer.
pub(super) struct Times(pub u64);

impl<'de> Deserialize<'de> for Times {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Times;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a positive integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Times, E> {
                match u64::try_from(v) {
                    Ok(n) if n >= 1 => Ok(Times(n)),
                    _ => Err(E::custom(format!(
                        "{v} is not a number of times (expected a positive integer)"
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Times, E> {
                match v {
                    0 => self.visit_i64(0),
                    n => Ok(Times(n)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The keys a derived table declares, read from its `Deserialize` impl
/// (serde hands them to `deserialize_struct`), so the vocabulary is the
/// schema's and cannot drift from it.
pub(super) fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields = None;
    // The introspector refuses after it has seen the fields.
    let _ = T::deserialize(FieldNames(&mut fields));
    fields.unwrap_or(&[])
}

/// A deserializer that only records the field list it is asked for.
struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("only the field names were asked for"))
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a derived table"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// The actions an `[[event]]` may have, in the schema's order.
pub(super) fn actions() -> Vec<&'static str> {
    fields_of::<EventTable>()
        .iter()
        .copied()
        .filter(|k| *k != "at")
        .collect()
}

/// The tables of the schema, each with its keys: `("", top-level keys)`,
/// `("host", ...)`, `("event.vm_create", ...)`.
pub(super) fn tables() -> [(&'static str, &'static [&'static str]); 9] {
    [
        ("", fields_of::<ScenarioFile>()),
        ("host", fields_of::<HostTable>()),
        ("arc", fields_of::<ArcTable>()),
        ("workload", fields_of::<WorkloadTable>()),
        ("sim", fields_of::<SimTable>()),
        ("boot", fields_of::<BootTable>()),
        ("event", fields_of::<EventTable>()),
        ("event.vm_create", fields_of::<VmCreateTable>()),
        ("event.alloc_fault", fields_of::<AllocFaultTable>()),
    ]
}
