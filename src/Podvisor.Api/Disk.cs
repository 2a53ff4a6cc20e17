using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>A disk the guest sees; <see cref="Name"/> names the volume behind it.</summary>
public sealed class Disk
{
    [SchemaRequired, SchemaPattern(ApiPatterns.DnsLabel)] [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("disk")] public DiskTarget? DiskTarget { get; set; }
    [SchemaMinimum(1)] [JsonPropertyName("bootOrder")] public int? BootOrder { get; set; }
    [JsonPropertyName("serial")] public string? Serial { get; set; }
    /// <summary>"none" (direct I/O) or "writethrough"/"writeback" through the host page cache.</summary>
    [SchemaValues("none", "writethrough", "writeback")] [JsonPropertyName("cache")] public string? Cache { get; set; }
    /// <summary>How the disk's I/O reaches the host: "native" (io_uring), "threads" (a pool of I/O threads) or "default".</summary>
    [SchemaValues("native", "threads", "default")] [JsonPropertyName("io")] public string? Io { get; set; }
}
