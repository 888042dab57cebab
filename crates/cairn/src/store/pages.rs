//! A vector shared copy-on-write in pages: a reader keeps the whole of it as it is with a
//! pointer copy ([`Pages::clone`]), and the writer goes on changing it, copying only the
//! pages it touches while a reader still holds them.
//!
//! This is how a scrape sees the index as it was when it started without holding the
//! store's lock while it renders: the lock is held only to clone the pages of each name.

use std::sync::Arc;

/// Elements per page: a change made while a reader holds the page copies this many.
const PAGE_LEN: usize = 256;

/// A vector of `T` in pages of [`PAGE_LEN`] elements (the last one may be shorter).
#[derive(Debug)]
pub(crate) struct Pages<T> {
    pages: Arc<Vec<Arc<Vec<T>>>>,
}

impl<T> Clone for Pages<T> {
    /// Shares every page: a pointer copy, whatever the length.
    fn clone(&self) -> Self {
        Pages {
            pages: Arc::clone(&self.pages),
        }
    }
}

impl<T> Default for Pages<T> {
    fn default() -> Self {
        Pages {
            pages: Arc::default(),
        }
    }
}

impl<T: Clone> Pages<T> {
    pub(crate) fn len(&self) -> usize {
        match self.pages.last() {
            Some(last) => (self.pages.len() - 1) * PAGE_LEN + last.len(),
            None => 0,
        }
    }

    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        self.pages.get(i / PAGE_LEN)?.get(i % PAGE_LEN)
    }

    /// Element `i`, for changing; its page (and the list of pages) is copied first if a
    /// reader holds it.
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= self.len() {
            return None;
        }
        let pages = Arc::make_mut(&mut self.pages);
        Arc::make_mut(&mut pages[i / PAGE_LEN]).get_mut(i % PAGE_LEN)
    }

    pub(crate) fn push(&mut self, value: T) {
        let pages = Arc::make_mut(&mut self.pages);
        match pages.last_mut() {
            Some(last) if last.len() < PAGE_LEN => Arc::make_mut(last).push(value),
            _ => pages.push(Arc::new(vec![value])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_keeps_what_it_saw_while_the_original_changes() {
        let mut pages = Pages::default();
        for i in 0..(3 * PAGE_LEN + 5) {
            pages.push(i);
        }
        assert_eq!(pages.len(), 3 * PAGE_LEN + 5);
        let seen = pages.clone();
        *pages.get_mut(1).unwrap() = 1000;
        *pages.get_mut(2 * PAGE_LEN).unwrap() = 2000;
        pages.push(7);
        assert_eq!(pages.get(1), Some(&1000));
        assert_eq!(pages.get(2 * PAGE_LEN), Some(&2000));
        assert_eq!(pages.get(3 * PAGE_LEN + 5), Some(&7));
        assert_eq!(seen.get(1), Some(&1));
        assert_eq!(seen.get(2 * PAGE_LEN), Some(&(2 * PAGE_LEN)));
        assert_eq!(seen.get(3 * PAGE_LEN + 5), None);
        assert_eq!(seen.len(), 3 * PAGE_LEN + 5);
        // Pages nobody changed are still shared.
        assert!(Arc::ptr_eq(&pages.pages[1], &seen.pages[1]));
        assert!(!Arc::ptr_eq(&pages.pages[0], &seen.pages[0]));
        assert_eq!(pages.get_mut(10 * PAGE_LEN), None);
    }
}
