//! Sets of JetStream stream sequences, kept as disjoint ranges.
//!
//! A batch's sequences and the set of sequences already in the lake are
//! mostly contiguous, so ranges keep them small; they are stored in
//! PostgreSQL as `int8multirange`.

use std::collections::BTreeMap;

/// Stream sequences as sorted, disjoint, non-touching half-open ranges
/// `start..end`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeqSet {
    /// start -> end (exclusive).
    ranges: BTreeMap<u64, u64>,
}

impl SeqSet {
    pub fn new() -> SeqSet {
        SeqSet::default()
    }

    /// The set holding `start..end` for each given pair (empty pairs ignored).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u64, u64)>) -> SeqSet {
        let mut set = SeqSet::new();
        for (start, end) in ranges {
            set.insert_range(start, end);
        }
        set
    }

    pub fn contains(&self, seq: u64) -> bool {
        self.ranges
            .range(..=seq)
            .next_back()
            .is_some_and(|(_, &end)| seq < end)
    }

    pub fn insert(&mut self, seq: u64) {
        self.insert_range(seq, seq.saturating_add(1));
    }

    /// Adds `start..end`, merging it with the ranges it overlaps or touches.
    pub fn insert_range(&mut self, mut start: u64, mut end: u64) {
        if start >= end {
            return;
        }
        if let Some((&before_start, &before_end)) = self.ranges.range(..=start).next_back()
            && before_end >= start
        {
            start = before_start;
            end = end.max(before_end);
        }
        let absorbed: Vec<(u64, u64)> = self
            .ranges
            .range(start..=end)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in absorbed {
            self.ranges.remove(&s);
            end = end.max(e);
        }
        self.ranges.insert(start, end);
    }

    pub fn union_with(&mut self, other: &SeqSet) {
        for (start, end) in other.ranges() {
            self.insert_range(start, end);
        }
    }

    /// The ranges `(start, end)`, end exclusive, in ascending order.
    pub fn ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|(&start, &end)| (start, end))
    }

    /// Every sequence, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.ranges().flat_map(|(start, end)| start..end)
    }

    pub fn first(&self) -> Option<u64> {
        self.ranges.first_key_value().map(|(&start, _)| start)
    }

    pub fn last(&self) -> Option<u64> {
        self.ranges.last_key_value().map(|(_, &end)| end - 1)
    }

    pub fn len(&self) -> u64 {
        self.ranges().map(|(start, end)| end - start).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The first sequence not in the set, counting from 1: where a consumer
    /// that has seen everything below it can start.
    pub fn first_missing(&self) -> u64 {
        match self.ranges.first_key_value() {
            Some((&1, &end)) => end,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SeqSet;

    #[test]
    fn merges_touching_and_overlapping_ranges() {
        let mut set = SeqSet::new();
        set.insert_range(10, 20);
        set.insert_range(30, 40);
        set.insert(20);
        assert_eq!(set.ranges().collect::<Vec<_>>(), vec![(10, 21), (30, 40)]);
        set.insert_range(15, 35);
        assert_eq!(set.ranges().collect::<Vec<_>>(), vec![(10, 40)]);
        set.insert_range(1, 10);
        assert_eq!(set.ranges().collect::<Vec<_>>(), vec![(1, 40)]);
        assert_eq!(set.len(), 39);
        assert_eq!(set.first_missing(), 40);
    }

    #[test]
    fn answers_membership_with_holes() {
        let set = SeqSet::from_ranges([(1, 4), (6, 7), (9, 12)]);
        let members: Vec<u64> = (0..14).filter(|&s| set.contains(s)).collect();
        assert_eq!(members, vec![1, 2, 3, 6, 9, 10, 11]);
        assert_eq!(set.iter().collect::<Vec<_>>(), members);
        assert_eq!((set.first(), set.last()), (Some(1), Some(11)));
        assert_eq!(set.first_missing(), 4);
        assert_eq!(SeqSet::from_ranges([(5, 9)]).first_missing(), 1);
        assert!(SeqSet::from_ranges([(5, 5)]).is_empty());
    }

    #[test]
    fn a_range_inside_another_changes_nothing() {
        let mut set = SeqSet::from_ranges([(1, 100)]);
        set.insert_range(20, 30);
        set.union_with(&SeqSet::from_ranges([(50, 60), (99, 101)]));
        assert_eq!(set.ranges().collect::<Vec<_>>(), vec![(1, 101)]);
    }
}
