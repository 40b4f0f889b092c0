//! Data-race detection: vector clocks carried by locks, wake-ups, spawn and
//! join, and the check of each access to a plain racy field.

use super::state::State;
use super::task::TaskId;
use super::vv::VersionVector;
use super::ObjId;
use crate::class::class_name;
use crate::report::RuntimeCheck;

impl State {
    pub(super) fn race_acquire(&mut self, t: TaskId, obj: ObjId) {
        if self.race_on {
            let rel = std::mem::take(&mut self.objs[obj as usize].rel_vc);
            self.tasks[t].vc.join(&rel);
            self.objs[obj as usize].rel_vc = rel;
        }
    }

    /// A release of `obj` by `t` that later acquisitions of it join (a write of an
    /// atomic that orders like a lock, a `complete`): the releases accumulate.
    pub(super) fn race_release(&mut self, t: TaskId, obj: ObjId) {
        if self.race_on {
            let vc = std::mem::take(&mut self.tasks[t].vc);
            self.objs[obj as usize].rel_vc.join(&vc);
            self.tasks[t].vc = vc;
            self.tasks[t].vc.tick(t);
        }
    }

    /// Checks an access to a plain racy field against the last conflicting ones: two
    /// accesses race if one writes and neither happens before the other through
    /// locks, wake-ups, spawn or join.
    pub fn race_access(&mut self, obj: ObjId, write: bool) {
        let Some(t) = self.running else { return };
        let site = self.tasks[t].frames.last().copied().unwrap_or("?");
        let vc = &self.tasks[t].vc;
        let epoch = vc.count(t);
        let hb = |u: TaskId, e: u32| vc.knows(u, e);
        let o = &self.objs[obj as usize];
        let mut racing: Option<(TaskId, &'static str, bool)> = None;
        if let Some((u, e, s)) = o.last_write {
            if u != t && !hb(u, e) {
                racing = Some((u, s, true));
            }
        }
        if write && racing.is_none() {
            if let Some(&(u, _, s)) = o.reads.iter().find(|&&(u, e, _)| u != t && !hb(u, e)) {
                racing = Some((u, s, false));
            }
        }
        let o = &mut self.objs[obj as usize];
        if write {
            o.last_write = Some((t, epoch, site));
            o.reads.clear();
        } else {
            o.reads.retain(|r| r.0 != t);
            o.reads.push((t, epoch, site));
        }
        if let Some((u, other_site, other_wrote)) = racing {
            let name = self.obj_name(obj);
            let summary = format!(
                "data race on {name}: {} {} it in {site} while {} {} it in {other_site}, with no common lock or other ordering",
                self.tasks[t].name,
                if write { "writes" } else { "reads" },
                self.tasks[u].name,
                if other_wrote { "wrote" } else { "read" },
            );
            let mut f = self.check_finding(t, RuntimeCheck::DataRace, summary);
            f.locks = vec![class_name(self.objs[obj as usize].class)];
            let rw = |w: bool| if w { "write" } else { "read" };
            let mut sides = [
                format!("{} {} in {site}", self.tasks[t].name, rw(write)),
                format!("{} {} in {other_site}", self.tasks[u].name, rw(other_wrote)),
            ];
            sides.sort();
            f.detail = sides.join("; ");
            self.push_finding(f);
        }
    }
}
