//! Owns the `process_*` metrics every Prometheus exporter has (CPU time,
//! memory, file descriptors, start time), read from `/proc/self` at each
//! scrape. Elsewhere than Linux they are simply absent.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Unit;

/// The process's figures at one scrape.
#[derive(Debug, Default, PartialEq)]
pub struct Process {
    cpu_seconds: f64,
    resident_bytes: i64,
    virtual_bytes: i64,
    open_fds: i64,
    max_fds: Option<i64>,
    start_time_seconds: f64,
}

impl Process {
    /// Reads `/proc/self`; `None` when it cannot be read.
    pub fn read() -> Option<Process> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as i64;
        // SAFETY: sysconf and getrlimit only read process facts; `limit` is
        // plain data that getrlimit fills.
        let (ticks, page, max_fds) = unsafe {
            let mut limit: libc::rlimit = std::mem::zeroed();
            let max = (libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0
                && limit.rlim_cur != libc::RLIM_INFINITY)
                .then_some(limit.rlim_cur as i64);
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
                max,
            )
        };
        parse(&stat, &boot, ticks as f64, page).map(|p| Process {
            open_fds,
            max_fds,
            ..p
        })
    }
}

/// The figures of `/proc/self/stat` and `btime` of `/proc/stat`, with
/// `ticks` clock ticks a second and `page`-byte pages.
fn parse(stat: &str, boot: &str, ticks: f64, page: i64) -> Option<Process> {
    if ticks <= 0.0 {
        return None;
    }
    // The command name (field 2) may hold spaces and parentheses: count
    // fields from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field N is fields[N - 3].
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let btime: u64 = boot
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())?;
    Some(Process {
        cpu_seconds: (field(14)? + field(15)?) as f64 / ticks,
        start_time_seconds: btime as f64 + field(22)? as f64 / ticks,
        virtual_bytes: field(23)? as i64,
        resident_bytes: field(24)? as i64 * page,
        open_fds: 0,
        max_fds: None,
    })
}

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut cpu = encoder.encode_descriptor(
            "process_cpu",
            "User and system CPU time spent",
            Some(&Unit::Seconds),
            MetricType::Counter,
        )?;
        cpu.encode_counter::<NoLabelSet, _, u64>(&self.cpu_seconds, None)?;
        let gauges: [(&str, &str, Option<&Unit>, f64); 4] = [
            (
                "process_resident_memory",
                "Resident memory size",
                Some(&Unit::Bytes),
                self.resident_bytes as f64,
            ),
            (
                "process_virtual_memory",
                "Virtual memory size",
                Some(&Unit::Bytes),
                self.virtual_bytes as f64,
            ),
            (
                "process_open_fds",
                "Open file descriptors",
                None,
                self.open_fds as f64,
            ),
            (
                "process_start_time",
                "Start time of the process since the epoch",
                Some(&Unit::Seconds),
                self.start_time_seconds,
            ),
        ];
        for (name, help, unit, value) in gauges {
            let gauge = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
            gauge.set(value);
            gauge.encode(encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?)?;
        }
        if let Some(max) = self.max_fds {
            let gauge = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
            gauge.set(max);
            gauge.encode(encoder.encode_descriptor(
                "process_max_fds",
                "The soft limit of open file descriptors",
                None,
                MetricType::Gauge,
            )?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_stat_with_a_command_name_holding_spaces_and_parentheses() {
        let stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    250 50 0 0 20 0 4 0 1000 104857600 2560 18446744073709551615";
        let p = parse(stat, "cpu 1 2 3\nbtime 1700000000\n", 100.0, 4096).expect("parsed");
        assert_eq!(p.cpu_seconds, 3.0);
        assert_eq!(p.start_time_seconds, 1_700_000_010.0);
        assert_eq!(p.virtual_bytes, 104_857_600);
        assert_eq!(p.resident_bytes, 2560 * 4096);
    }

    #[test]
    fn this_process_is_readable_on_linux() {
        if cfg!(target_os = "linux") {
            let p = Process::read().expect("/proc/self");
            assert!(p.resident_bytes > 0 && p.open_fds > 0 && p.start_time_seconds > 1e9);
        }
    }
}
