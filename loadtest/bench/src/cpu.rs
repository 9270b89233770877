//! CPU time of processes, read from `/proc/<pid>/stat` (utime + stime, in clock
//! ticks): this process, the PostgreSQL processes serving the bench, and the local
//! broker process. Best effort: a process that is gone or unreadable counts as
//! absent, and callers say so rather than report zero.

use std::collections::HashMap;
use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on every Linux
/// architecture the platform runs on; `getconf CLK_TCK`).
const TICKS_PER_SEC: u64 = 100;

/// The fields of `/proc/<pid>/stat` the bench uses.
#[derive(Debug, PartialEq, Eq)]
pub struct ProcStat {
    /// The executable's name (`comm`, at most 15 characters).
    pub comm: String,
    pub ppid: u32,
    /// User plus system time, in clock ticks (all threads).
    pub ticks: u64,
}

/// Parses one `/proc/<pid>/stat` line. `comm` sits in parentheses and may itself
/// contain spaces and parentheses, so the fields are counted from the last `)`.
pub fn parse_stat(line: &str) -> Option<ProcStat> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let comm = line.get(open + 1..close)?.to_owned();
    // Fields after `comm`: state (3), ppid (4), ..., utime (14), stime (15).
    let rest: Vec<&str> = line.get(close + 1..)?.split_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(ProcStat {
        comm,
        ppid: u32::try_from(field(4)?).ok()?,
        ticks: field(14)? + field(15)?,
    })
}

/// `/proc/<pid>/stat` of one process, if it exists and is readable.
pub fn read(pid: u32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// This process's CPU time (every thread, so the in-process mock broker too).
pub fn this_process() -> Option<Duration> {
    parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?).map(|s| ticks(s.ticks))
}

pub fn ticks(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 1000 / TICKS_PER_SEC)
}

/// A child of this process whose command line holds `arg` (the local broker
/// process, found by its listener URL).
pub fn child_with_arg(arg: &str) -> Option<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|&pid| {
            read(pid).is_some_and(|s| s.ppid == me)
                && std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|cmdline| cmdline.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
        })
}

/// CPU ticks of a set of processes at one moment, by pid; only processes named
/// `comm` are kept (so a recycled pid or a remote server's pid is not counted).
#[derive(Debug, Default, Clone)]
pub struct Ticks(HashMap<u32, u64>);

impl Ticks {
    pub fn read(pids: &[u32], comm: &str) -> Self {
        Self(
            pids.iter()
                .filter_map(|&pid| read(pid).filter(|s| s.comm == comm).map(|s| (pid, s.ticks)))
                .collect(),
        )
    }

    /// No process could be read (gone, another machine's, or `/proc` hidden).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn pids(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.keys().copied()
    }

    /// CPU used since `before` by the processes read now: a process that started in
    /// between counts from its start; one that exited in between is lost.
    pub fn since(&self, before: &Ticks) -> Duration {
        ticks(
            self.0
                .iter()
                .map(|(pid, now)| now.saturating_sub(before.0.get(pid).copied().unwrap_or(0)))
                .sum(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_counting_fields_after_the_last_parenthesis() {
        // A real line shape, with a comm that holds a space and a parenthesis.
        let line = "4242 (post gres) x) S 17 4242 4242 0 -1 4194560 1021 0 0 0 \
                    250 75 0 0 20 0 1 0 123456 226000000 5000 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                comm: "post gres) x".into(),
                ppid: 17,
                ticks: 325
            })
        );
    }

    #[test]
    fn a_truncated_line_is_none() {
        assert_eq!(parse_stat("1 (init) S 0 1 1"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn reads_this_process() {
        let me = read(std::process::id()).expect("own /proc/<pid>/stat");
        assert_eq!(me.ppid, std::os::unix::process::parent_id());
        assert!(this_process().is_some());
    }

    #[test]
    fn ticks_since_count_new_processes_from_zero_and_ignore_gone_ones() {
        let before = Ticks([(1, 100), (2, 50)].into_iter().collect());
        let after = Ticks([(1, 130), (3, 20)].into_iter().collect());
        assert_eq!(after.since(&before), ticks(30 + 20));
        assert_eq!(ticks(250), Duration::from_millis(2500));
    }
}
