//! Deterministic command ids, so `decide` stays pure and replays agree.

use uuid::Uuid;

use crate::state::Phase;

/// UUIDv5 over (saga id, step, phase, attempt), namespaced by the saga id.
pub fn command_id(saga_id: Uuid, step: usize, phase: Phase, attempt: u32) -> Uuid {
    let phase = match phase {
        Phase::Forward => "forward",
        Phase::Compensation => "compensation",
    };
    Uuid::new_v5(
        &saga_id,
        format!("command/{step}/{phase}/{attempt}").as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let saga = Uuid::from_u128(7);
        let a = command_id(saga, 0, Phase::Forward, 1);
        assert_eq!(a, command_id(saga, 0, Phase::Forward, 1));
        assert_eq!(a.get_version_num(), 5);
        assert_ne!(a, command_id(saga, 0, Phase::Forward, 2));
        assert_ne!(a, command_id(saga, 0, Phase::Compensation, 1));
        assert_ne!(a, command_id(saga, 1, Phase::Forward, 1));
        assert_ne!(a, command_id(Uuid::from_u128(8), 0, Phase::Forward, 1));
    }
}
