using System.Runtime.CompilerServices;

namespace Podvisor.Kvm.Abi;

// Fixed-size arrays inside kernel ABI structs. InlineArray keeps the structs blittable and their
// layout identical to C, while giving callers bounds-checked indexing instead of fixed buffers.
#pragma warning disable CS0169, IDE0051 // the single element field defines the array; it is never named

[InlineArray(3)] public struct InlineU32x3 { private uint _e; }
[InlineArray(4)] public struct InlineU32x4 { private uint _e; }
[InlineArray(9)] public struct InlineU32x9 { private uint _e; }
[InlineArray(15)] public struct InlineU32x15 { private uint _e; }
[InlineArray(4)] public struct InlineU64x4 { private ulong _e; }
[InlineArray(9)] public struct InlineU64x9 { private ulong _e; }
[InlineArray(16)] public struct InlineU64x16 { private ulong _e; }
[InlineArray(16)] public struct InlineBytes16 { private byte _e; }
[InlineArray(36)] public struct InlineBytes36 { private byte _e; }
[InlineArray(64)] public struct InlineBytes64 { private byte _e; }
[InlineArray(128)] public struct InlineBytes128 { private byte _e; }
[InlineArray(256)] public struct InlineBytes256 { private byte _e; }
[InlineArray(512)] public struct InlineBytes512 { private byte _e; }
[InlineArray(1024)] public struct InlineBytes1024 { private byte _e; }
[InlineArray(8)] public struct InlineSegments8 { private KvmSegment _e; }
[InlineArray(16)] public struct InlineXcrs16 { private KvmXcr _e; }
[InlineArray(3)] public struct InlinePitChannels3 { private KvmPitChannelState _e; }
