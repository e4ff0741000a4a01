// Package token is the token grain: one virtual actor per (app, notifier,
// device token) pair (kind "token"), owning the register that says which
// user's device holds the pair. It enforces SPEC.md §4: a pair belongs to
// at most one user, and an upsert giving it to user B deletes every
// binding of any other user holding it.
//
// # Protocol
//
// The token grain never calls another grain; user grains drive it:
//
//  1. Claim. User B asks the token grain for the pair. The grain writes B
//     as owner under a new stamp (strictly increasing per pair, about the
//     wall clock in ms), moves the previous owner A to the stale list and
//     answers the stamp and the stale users, after the write is durable.
//  2. Release the others. B's grain asks each stale user's grain to drop
//     its bindings of the pair written before the stamp (ReleaseToken),
//     and waits for each durable answer. B does this from a goroutine and
//     resumes in its mailbox (ReenterAfter), so no grain ever waits on
//     another and there is no deadlock, not even when B is its own
//     previous owner (that case needs no request: B drops its other
//     devices' bindings of the pair in the same write as the new one).
//  3. Store. B writes its binding with the stamp as its modified time
//     and answers the client; then tells the token grain (Settle) that the
//     stale users are done, which empties the stale list.
//
// A delete, a replaced token or a vendor's token-invalid answer makes the
// user give the pair up (Release): taken only while that user still owns
// it under a stamp no newer than the dropped binding's, so a release that
// arrives after a newer claim changes nothing.
//
// # Why two owners cannot coexist
//
// Stamps order the claims. A user stores a binding only after every user
// that held the pair before its claim (the owner then and the stale list)
// confirmed dropping it. A ReleaseToken with stamp s drops bindings older
// than s; a user whose own claim is still in flight remembers the largest
// such s and does not store its binding if s is newer than its own stamp.
// So of two claims, the older one's binding is dropped or never written.
//
// # Crash windows
//
//   - Owner recorded, releases not yet done (claimant crashed or timed
//     out): the previous holders keep their bindings and stay in the stale
//     list, and the client got an error. The retried PUT claims again (no
//     new write: same owner), gets the same stale list, and finishes.
//     Until then at most the old holders have the pair; the next claim by
//     anyone, and the Xiaomi feedback poller, release them too.
//   - Releases done, binding not stored: nobody holds the pair; the retry
//     stores it.
//   - Binding stored, Settle lost: the stale list keeps users that already
//     dropped the pair; the next claim asks them again, which is harmless
//     (they hold nothing older than its stamp).
//   - Binding dropped, Release lost: the register names an owner without a
//     binding. The next claim asks that user to drop nothing; the feedback
//     poller's Unbind finds nothing. Harmless.
//
// There is no check on the push path (it would cost a request per push);
// the repair is the retry of the PUT plus the stale list.
//
// # Identity
//
// "<appkey>/<notifier>/<token>", the register key "token/" + identity
// (persistence.TokenKey). Device tokens may be 4096 bytes and notifier
// names in bindings may hold any character, so a token longer than
// MaxRawToken bytes, a notifier with '/' or longer than 128 bytes, and any
// part starting with "sha256:" appear as "sha256:" + the hex SHA-256 of
// the part. The register value keeps the full pair, and the grain refuses
// a request whose pair does not match it.
package token
