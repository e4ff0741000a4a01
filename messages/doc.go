// Package messages holds Herald's wire messages: the IM core's events, the
// grains' commands and replies, the stored register values and the delivery
// outcomes. Everything that crosses an actor or node boundary is declared in
// a .proto file here:
//
//	herald.proto       IM core events, grain commands, stored user and app state
//	replication.proto  the register protocol between nodes
//	ring.proto         the ring state nodes gossip
//	token.proto        token ownership (SPEC.md §4)
//	notifier.proto     notifier state nodes tell each other (daily caps)
//
// Each .pb.go is generated from its .proto and committed, so building never
// needs protoc.
//
// To regenerate after editing herald.proto (protoc and protoc-gen-go on PATH):
//
//	go generate ./messages
//
// TestGeneratedCodeIsCurrent fails when any committed .pb.go does not match
// its .proto file.
package messages

//go:generate protoc --go_out=. --go_opt=paths=source_relative herald.proto
//go:generate protoc --go_out=. --go_opt=paths=source_relative replication.proto
//go:generate protoc --go_out=. --go_opt=paths=source_relative ring.proto
//go:generate protoc --go_out=. --go_opt=paths=source_relative token.proto
//go:generate protoc --go_out=. --go_opt=paths=source_relative notifier.proto
