using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Podvisor.Api.Control;

/// <summary>
/// One live migration is one trace, whose ID is the migration's UID (a UUID is 16 bytes, as a W3C trace ID is): the
/// operator's spans for its phases and the source's and target's spans for sending and receiving all land in it
/// without any context passed between them, and anyone holding the VirtualMachineInstanceMigration can find it. Every
/// span is a child of the migration itself (a root span ID derived from the UID, never reported on its own).
/// </summary>
public static class MigrationTrace
{
    public static ActivityContext ContextOf(string migrationUid)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(migrationUid), hash);
        Span<byte> traceId = stackalloc byte[16];
        if (!Guid.TryParse(migrationUid, out var uid) || !uid.TryWriteBytes(traceId, bigEndian: true, out _) || uid == Guid.Empty)
            hash[..16].CopyTo(traceId);                              // not a UUID: a stable ID all the same
        return new ActivityContext(ActivityTraceId.CreateFromBytes(traceId), ActivitySpanId.CreateFromBytes(hash[16..24]), ActivityTraceFlags.Recorded, isRemote: true);
    }

    /// <summary>Starts a span of the migration's trace (null when nobody listens to <paramref name="source"/>).</summary>
    public static Activity? Start(ActivitySource source, string migrationUid, string name, ActivityKind kind = ActivityKind.Internal, DateTimeOffset startTime = default)
    {
        var activity = source.StartActivity(name, kind, ContextOf(migrationUid), startTime: startTime);
        activity?.SetTag("podvisor.migration.uid", migrationUid);
        return activity;
    }
}
