//! Finding cycles in a directed graph: Tarjan's strongly connected
//! components, then one shortest cycle through each component that has more
//! than one node (self-loops are not cycles here: a module may name itself).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A directed graph by adjacency sets.
pub type Graph<N> = BTreeMap<N, BTreeSet<N>>;

/// One cycle per strongly connected component of two or more nodes, as the
/// node list `[a, b, .., a]`, starting from the component's least node.
pub fn cycles<N: Ord + Clone>(graph: &Graph<N>) -> Vec<Vec<N>> {
    components(graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| shortest_cycle(graph, &component))
        .collect()
}

/// The shortest path from the component's least node back to itself,
/// through the component.
fn shortest_cycle<N: Ord + Clone>(graph: &Graph<N>, component: &BTreeSet<N>) -> Vec<N> {
    let start = component.first().expect("components are not empty").clone();
    let mut came_from: BTreeMap<N, N> = BTreeMap::new();
    let mut queue = VecDeque::from([start.clone()]);
    while let Some(node) = queue.pop_front() {
        for next in graph.get(&node).into_iter().flatten() {
            if !component.contains(next) {
                continue;
            }
            if *next == start {
                let mut cycle = vec![start.clone(), node.clone()];
                let mut at = node.clone();
                while let Some(previous) = came_from.get(&at) {
                    cycle.push(previous.clone());
                    at = previous.clone();
                }
                cycle.reverse();
                return cycle;
            }
            if *next != start && !came_from.contains_key(next) {
                came_from.insert(next.clone(), node.clone());
                queue.push_back(next.clone());
            }
        }
    }
    unreachable!("a strongly connected component of two nodes or more has a cycle")
}

/// Tarjan's algorithm.
fn components<N: Ord + Clone>(graph: &Graph<N>) -> Vec<BTreeSet<N>> {
    struct State<N> {
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        on_stack: BTreeSet<N>,
        found: Vec<BTreeSet<N>>,
    }
    fn visit<N: Ord + Clone>(graph: &Graph<N>, node: &N, state: &mut State<N>) {
        let index = state.index.len();
        state.index.insert(node.clone(), index);
        state.low.insert(node.clone(), index);
        state.stack.push(node.clone());
        state.on_stack.insert(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if !state.index.contains_key(next) {
                visit(graph, next, state);
                let low = state.low[node].min(state.low[next]);
                state.low.insert(node.clone(), low);
            } else if state.on_stack.contains(next) {
                let low = state.low[node].min(state.index[next]);
                state.low.insert(node.clone(), low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = BTreeSet::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(&member);
                let done = member == *node;
                component.insert(member);
                if done {
                    break;
                }
            }
            state.found.push(component);
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node) {
            visit(graph, node, &mut state);
        }
    }
    state.found
}

#[cfg(test)]
mod tests {
    use super::{cycles, Graph};

    fn graph(edges: &[(&'static str, &'static str)]) -> Graph<&'static str> {
        let mut graph = Graph::new();
        for &(from, to) in edges {
            graph.entry(from).or_default().insert(to);
            graph.entry(to).or_default();
        }
        graph
    }

    #[test]
    fn a_cycle_is_found_and_named() {
        let g = graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("x", "y")]);
        assert_eq!(cycles(&g), [vec!["a", "b", "c", "a"]]);
    }

    #[test]
    fn a_two_node_cycle_and_a_separate_one_are_both_found() {
        let g = graph(&[("p", "q"), ("q", "p"), ("a", "b"), ("b", "a"), ("b", "p")]);
        let mut found = cycles(&g);
        found.sort();
        assert_eq!(found, [vec!["a", "b", "a"], vec!["p", "q", "p"]]);
    }

    #[test]
    fn a_dag_and_self_loops_have_no_cycle() {
        let g = graph(&[("a", "b"), ("a", "c"), ("b", "c"), ("c", "c")]);
        assert!(cycles(&g).is_empty());
    }
}
