//! A sequence of exactly `len` operations that shrinks like a failing trace should: first cut
//! the tail (a binary search for the shortest failing prefix: the steps after the violation
//! never ran), then drop single steps, then simplify the steps that are left.

use proptest::strategy::{BoxedStrategy, NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use super::ops::Op;

#[derive(Debug)]
pub struct OpsStrategy {
    op: BoxedStrategy<Op>,
    len: usize,
}

impl OpsStrategy {
    pub fn new(op: BoxedStrategy<Op>, len: usize) -> OpsStrategy {
        OpsStrategy { op, len: len.max(1) }
    }
}

#[derive(Debug, Clone, Copy)]
enum Change {
    /// Only the first `n` included steps.
    Truncate(usize),
    Drop(usize),
    Simplify(usize),
}

pub struct OpsTree {
    elements: Vec<Box<dyn ValueTree<Value = Op>>>,
    included: Vec<bool>,
    /// How many included steps are visible (the prefix).
    limit: usize,
    /// Binary search bounds: a prefix of `lo` steps passed (or is untried), one of `hi` failed.
    lo: usize,
    hi: usize,
    /// Next candidate of the later phases.
    next_drop: usize,
    next_simplify: usize,
    /// The change applied and not yet judged.
    pending: Option<Change>,
}

impl std::fmt::Debug for OpsTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpsTree({} steps)", self.visible().len())
    }
}

impl Strategy for OpsStrategy {
    type Tree = OpsTree;
    type Value = Vec<Op>;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let mut elements: Vec<Box<dyn ValueTree<Value = Op>>> = Vec::with_capacity(self.len);
        for _ in 0..self.len {
            elements.push(Box::new(self.op.new_tree(runner)?));
        }
        Ok(OpsTree {
            included: vec![true; self.len],
            limit: self.len,
            lo: 0,
            hi: self.len,
            next_drop: 0,
            next_simplify: 0,
            elements,
            pending: None,
        })
    }
}

impl OpsTree {
    /// Indices of the visible steps.
    fn visible(&self) -> Vec<usize> {
        (0..self.elements.len()).filter(|&i| self.included[i]).take(self.limit).collect()
    }

    /// Keeps the pending change (the value with it still failed).
    fn accept(&mut self) {
        match self.pending.take() {
            Some(Change::Truncate(n)) => self.hi = n,
            Some(Change::Drop(_)) | None => {}
            Some(Change::Simplify(i)) => {
                // The step may simplify further: stay on it.
                self.next_simplify = i;
            }
        }
    }

    /// Undoes the pending change (the value with it passed).
    fn reject(&mut self) -> bool {
        match self.pending.take() {
            Some(Change::Truncate(n)) => {
                self.lo = n;
                self.limit = self.hi;
                true
            }
            Some(Change::Drop(i)) => {
                self.included[i] = true;
                true
            }
            Some(Change::Simplify(i)) => {
                if self.elements[i].complicate() {
                    // A value between the two: it needs a verdict of its own.
                    self.pending = Some(Change::Simplify(i));
                    return false;
                }
                self.next_simplify = i + 1;
                true
            }
            None => true,
        }
    }

    /// Applies the next change; false when there is none left.
    fn advance(&mut self) -> bool {
        if self.hi > self.lo + 1 {
            let mid = (self.lo + self.hi) / 2;
            self.limit = mid.max(1);
            self.pending = Some(Change::Truncate(mid));
            return true;
        }
        // From here on the visible prefix is fixed: hide the rest for good.
        let visible = self.visible();
        for i in 0..self.elements.len() {
            if !visible.contains(&i) {
                self.included[i] = false;
            }
        }
        self.limit = usize::MAX;
        while self.next_drop < self.elements.len() {
            let i = self.next_drop;
            self.next_drop += 1;
            if self.included[i] && self.included.iter().filter(|x| **x).count() > 1 {
                self.included[i] = false;
                self.pending = Some(Change::Drop(i));
                return true;
            }
        }
        while self.next_simplify < self.elements.len() {
            let i = self.next_simplify;
            if self.included[i] && self.elements[i].simplify() {
                self.pending = Some(Change::Simplify(i));
                return true;
            }
            self.next_simplify += 1;
        }
        false
    }
}

impl ValueTree for OpsTree {
    type Value = Vec<Op>;

    fn current(&self) -> Vec<Op> {
        self.visible().into_iter().map(|i| self.elements[i].current()).collect()
    }

    fn simplify(&mut self) -> bool {
        self.accept();
        self.advance()
    }

    fn complicate(&mut self) -> bool {
        if !self.reject() {
            // The step's own tree moved to an in-between value: try that.
            return true;
        }
        self.advance()
    }
}
