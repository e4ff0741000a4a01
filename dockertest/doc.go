// Package dockertest runs Herald's cluster tests across containers, each
// node with its own address, as it would run across real hosts.
//
// The package holds only tests. TestMain builds static herald and
// vendorsim binaries, writes vendorsim credentials and a CA, and builds a
// FROM scratch image holding them. Each test then creates two private
// (internal) Docker networks with random subnets:
//
//   - the data network carries gossip, actor remote traffic and the
//     vendor requests; it is the one a partition cuts;
//   - the management network carries only REST, so the test (on the
//     host) can still talk to a node that was cut off, as an operator
//     would through a separate management interface.
//
// vendorsim runs on the data network; every herald node runs in its own
// container with a named volume for its data directory, so a killed and
// restarted container keeps its store. Nodes bind their container
// addresses directly (see the README section "Running the cluster tests
// across containers" for why they do not bind 0.0.0.0).
//
// The tests:
//
//   - TestDockerClusterForms: three nodes agree on three alive members and
//     a ring of three; bindings acknowledged through one node read back
//     through another.
//   - TestDockerChaos: writes bindings and pushes messages while a chaos
//     loop kills and restarts nodes (docker kill / start) and freezes
//     others (docker pause / unpause); every acknowledged binding is
//     readable and every acknowledged push reached vendorsim.
//   - TestDockerPartition: cuts one node off the data network; the
//     majority keeps writing, the isolated node acknowledges nothing,
//     and after the cut heals every node answers the same for every key.
//
// Where no Docker engine answers `docker info`, every test skips with a
// one-line reason. Containers, volumes, networks and the image are
// removed when the tests end.
package dockertest
