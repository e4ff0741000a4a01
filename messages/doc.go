// Package messages holds Herald's wire messages: the IM core's events, the
// grains' commands and replies, the stored register values and the delivery
// outcomes. Everything that crosses an actor or node boundary is declared in
// herald.proto; herald.pb.go is generated from it and committed, so building
// never needs protoc.
//
// To regenerate after editing herald.proto (protoc and protoc-gen-go on PATH):
//
//	go generate ./messages
//
// TestGeneratedCodeIsCurrent fails when the committed code does not match the
// .proto file.
package messages

//go:generate protoc --go_out=. --go_opt=paths=source_relative herald.proto
