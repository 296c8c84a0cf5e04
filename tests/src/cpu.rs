//! Where a benchmark's CPU time went: the machine's busy time and each part's own, read from
//! `/proc` before and after a measure.
//!
//! The ingest benchmark runs the broker, the database, the gateway and the simulated benches
//! on the same cores. A ratio of two throughputs says how far apart they are; the CPU time
//! each part spent per event says why, and whether the cores were the limit at all.

use std::collections::BTreeMap;
use std::time::Instant;

/// Linux reports process times in clock ticks of 1/100 s (`USER_HZ`) on every architecture
/// the project builds for.
const TICKS_PER_SECOND: f64 = 100.0;

/// The parts of the system, told apart by process name (a gateway's name is cut to 15
/// characters by the kernel). The last is the benchmark's own process: its simulated benches,
/// its plain subscriber and its plain inserts, with the SQLite they run in-process.
pub const PARTS: [(&str, &str); 4] = [
    ("mosquitto", "broker"),
    ("postgres", "PostgreSQL"),
    ("touchstone-gate", "gateway"),
    ("", "benchmark"),
];

/// CPU counters at one moment.
#[derive(Debug, Clone)]
pub struct CpuSample {
    at: Instant,
    busy_ticks: u64,
    by_part: BTreeMap<&'static str, u64>,
}

/// CPU time spent between two samples.
#[derive(Debug, Clone, Default)]
pub struct CpuUse {
    /// Wall-clock seconds between the samples.
    pub wall: f64,
    /// Seconds of CPU the whole machine was busy (all cores together).
    pub busy: f64,
    /// Seconds of CPU per part, in the order of [`PARTS`].
    pub parts: Vec<(&'static str, f64)>,
}

impl CpuSample {
    /// Reads the counters now. Parts whose processes cannot be read count as zero.
    pub fn now() -> CpuSample {
        let mut by_part: BTreeMap<&'static str, u64> = BTreeMap::new();
        let own = std::process::id();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok())
                else {
                    continue;
                };
                let Some((comm, ticks)) = process_ticks(pid) else { continue };
                let part = if pid == own {
                    Some("benchmark")
                } else {
                    PARTS.iter().find(|(name, _)| !name.is_empty() && comm == *name).map(|p| p.1)
                };
                if let Some(part) = part {
                    *by_part.entry(part).or_default() += ticks;
                }
            }
        }
        CpuSample { at: Instant::now(), busy_ticks: machine_busy_ticks(), by_part }
    }

    /// What was spent from `self` until `later`. A process that exited in between loses its
    /// share, so take the later sample before stopping anything.
    pub fn until(&self, later: &CpuSample) -> CpuUse {
        let seconds = |ticks: u64| to_f64(ticks) / TICKS_PER_SECOND;
        let parts = PARTS
            .iter()
            .map(|(_, part)| {
                let before = self.by_part.get(part).copied().unwrap_or(0);
                let after = later.by_part.get(part).copied().unwrap_or(0);
                (*part, seconds(after.saturating_sub(before)))
            })
            .collect();
        CpuUse {
            wall: later.at.duration_since(self.at).as_secs_f64(),
            busy: seconds(later.busy_ticks.saturating_sub(self.busy_ticks)),
            parts,
        }
    }
}

impl CpuUse {
    /// Microseconds of CPU per event, for the machine and each part, as one table cell:
    /// `total 31.2 (broker 12.0, gateway 9.1, ...)`.
    pub fn per_event(&self, events: usize) -> String {
        let per = |seconds: f64| seconds * 1e6 / to_f64(u64::try_from(events.max(1)).unwrap_or(1));
        let parts: Vec<String> = self
            .parts
            .iter()
            .filter(|(_, s)| *s > 0.0)
            .map(|(name, s)| format!("{name} {:.1}", per(*s)))
            .collect();
        format!("{:.1} µs ({})", per(self.busy), parts.join(", "))
    }

    /// Adds another measure's time to this one's.
    pub fn add(&mut self, other: &CpuUse) {
        self.wall += other.wall;
        self.busy += other.busy;
        if self.parts.is_empty() {
            self.parts = other.parts.clone();
        } else {
            for ((_, mine), (_, theirs)) in self.parts.iter_mut().zip(&other.parts) {
                *mine += theirs;
            }
        }
    }

    /// How many of the machine's cores were busy on average.
    pub fn cores_busy(&self) -> f64 {
        if self.wall > 0.0 { self.busy / self.wall } else { 0.0 }
    }
}

#[expect(clippy::cast_precision_loss, reason = "tick and event counts stay far below 2^53")]
fn to_f64(n: u64) -> f64 {
    n as f64
}

/// A process's name and its user plus system ticks, all threads included.
fn process_ticks(pid: u32) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name is in parentheses and may itself hold spaces or parentheses.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    // After the name: state, ppid, ... utime is the 12th field, stime the 13th.
    let mut fields = stat.get(close + 2..)?.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((comm, utime + stime))
}

/// Ticks the machine spent on anything but idling and waiting for I/O, all cores together.
fn machine_busy_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return 0 };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else { return 0 };
    // user nice system idle iowait irq softirq steal ...
    line.split_whitespace()
        .skip(1)
        .enumerate()
        .filter(|(i, _)| !matches!(i, 3 | 4) && *i < 8)
        .filter_map(|(_, v)| v.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_counted_as_the_benchmark() {
        let before = CpuSample::now();
        // Burn enough CPU to move a 10 ms tick counter.
        let mut x = 0_u64;
        let started = Instant::now();
        while started.elapsed().as_millis() < 60 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let used = before.until(&CpuSample::now());
        let own = used.parts.iter().find(|(p, _)| *p == "benchmark").map_or(0.0, |p| p.1);
        assert!(own >= 0.02, "own CPU not counted: {used:?}");
        assert!(used.busy >= own * 0.5, "machine busy below own use: {used:?}");
    }
}
