// Package all links every vendor client into a binary: importing it for
// its side effects runs each vendor package's init, which registers the
// vendor's Factory and Renderer with package vendors.
//
// A new vendor package adds one blank import line here, and nothing else
// in shared code changes.
package all

import (
	// Apple Push Notification service: apns and apns-voip.
	_ "github.com/herald-im/herald/vendors/apns"
	_ "github.com/herald-im/herald/vendors/fcm"    // Firebase Cloud Messaging HTTP v1
	_ "github.com/herald-im/herald/vendors/honor"  // Honor Push
	_ "github.com/herald-im/herald/vendors/huawei" // Huawei Push Kit
	_ "github.com/herald-im/herald/vendors/meizu"  // Meizu Push
	_ "github.com/herald-im/herald/vendors/oppo"   // OPPO Push
	_ "github.com/herald-im/herald/vendors/vivo"   // vivo Push
	_ "github.com/herald-im/herald/vendors/xiaomi" // Xiaomi MiPush
)
