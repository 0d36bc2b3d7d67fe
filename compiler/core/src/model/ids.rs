//! Typed indices: a `ServiceId` indexes services and nothing else, and a model list can only
//! be indexed by its own id type (as ruff's `IndexVec` and rust-analyzer's arenas do).

use std::marker::PhantomData;

/// An index into one of the model's lists.
pub trait Id: Copy {
    /// The id of the item at `index`.
    fn new(index: usize) -> Self;
    /// Its position in its list.
    fn index(self) -> usize;
}

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => { $(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl Id for $name {
            fn new(index: usize) -> Self {
                $name(index as u32)
            }
            fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u32(self.0)
            }
        }
    )* };
}

ids! {
    /// A host: `model.hosts[id]`.
    HostId,
    /// A service: `model.services[id]`.
    ServiceId,
    /// A secret: `model.secrets[id]`.
    SecretId,
    /// A variable: `model.variables[id]`.
    VariableId,
    /// A config: `model.configs[id]`.
    ConfigId,
    /// A network: `model.networks[id]`.
    NetworkId,
    /// A domain: `model.domains[id]`.
    DomainId,
}

/// A list indexed by its own id type.
#[derive(Debug, Clone)]
pub struct List<I, T> {
    items: Vec<T>,
    _id: PhantomData<I>,
}

impl<I, T> Default for List<I, T> {
    fn default() -> Self {
        List {
            items: Vec::new(),
            _id: PhantomData,
        }
    }
}

impl<I: Id, T: Clone> List<I, T> {
    /// A side table with one `value` per id of a list of `len` items (e.g. per host).
    pub fn filled(len: usize, value: T) -> Self {
        List {
            items: vec![value; len],
            _id: PhantomData,
        }
    }
}

impl<I: Id, T> List<I, T> {
    /// Add an item; its id.
    pub fn push(&mut self, item: T) -> I {
        self.items.push(item);
        I::new(self.items.len() - 1)
    }
    /// The item, if the id is in range.
    pub fn get(&self, id: I) -> Option<&T> {
        self.items.get(id.index())
    }
    /// How many items.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Every item, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }
    /// The item, if the id is in range.
    pub fn get_mut(&mut self, id: I) -> Option<&mut T> {
        self.items.get_mut(id.index())
    }
    /// Every item, in order, mutably.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.items.iter_mut()
    }
    /// Every item with its id.
    pub fn iter_enumerated(&self) -> impl Iterator<Item = (I, &T)> + '_ {
        self.items.iter().enumerate().map(|(i, t)| (I::new(i), t))
    }
    /// Every id, in order.
    pub fn ids(&self) -> impl Iterator<Item = I> + use<I, T> {
        (0..self.items.len()).map(I::new)
    }
    /// Room for `n` more items.
    pub fn reserve_exact(&mut self, n: usize) {
        self.items.reserve_exact(n);
    }
    /// The items as a slice (by position).
    pub fn as_slice(&self) -> &[T] {
        &self.items
    }
}

impl<I: Id, T> std::ops::Index<I> for List<I, T> {
    type Output = T;
    fn index(&self, id: I) -> &T {
        &self.items[id.index()]
    }
}

impl<I: Id, T> std::ops::IndexMut<I> for List<I, T> {
    fn index_mut(&mut self, id: I) -> &mut T {
        &mut self.items[id.index()]
    }
}

impl<'a, I, T> IntoIterator for &'a mut List<I, T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter_mut()
    }
}

impl<'a, I, T> IntoIterator for &'a List<I, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<I, T: serde::Serialize> serde::Serialize for List<I, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(s)
    }
}
