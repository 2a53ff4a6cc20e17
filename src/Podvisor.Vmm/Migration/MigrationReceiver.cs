using System.Diagnostics;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// The target side: checks the source's machine against the VM built here (<see cref="VirtualMachine.CreateIncoming"/>),
/// writes the pages it receives into guest RAM, restores the machine state, and starts the guest only when the
/// source says it has stopped for good (<see cref="MigrationMessage.Go"/>). If anything fails before that, the
/// VM here never ran and the caller disposes it.
/// </summary>
public static class MigrationReceiver
{
    /// <summary>
    /// What the target saw of a migration it completed: how long it spent reading page batches into guest memory once
    /// their headers had arrived (decryption and the copy; the rest of the transfer it waited for the link); in the
    /// downtime, reading the machine state and restoring it.
    /// </summary>
    public sealed record Received(ulong Bytes, ulong Pages, TimeSpan Total, TimeSpan ParseState, TimeSpan RestoreState, TimeSpan ReceivingPages = default);

    public static async Task<Received> RunAsync(VirtualMachine vm, Stream link, MigrationOptions options, CancellationToken cancel)
    {
        options.Validate();
        var handoverTimeout = options.HandoverTimeout;
        if (vm.State != VmState.Created || vm.Boot is not null)
            throw new InvalidOperationException("a migration arrives in a VM made by VirtualMachine.CreateIncoming, not started");
        var clock = Stopwatch.StartNew();
        var channel = new MigrationChannel(link);
        await channel.HandshakeAsync(cancel);
        var hello = MigrationChannel.ParseJson(await channel.ExpectAsync(MigrationMessage.Hello, cancel), MigrationJson.Default.MigrationHello, "Hello");
        if (Mismatch(vm, hello) is { } mismatch)
        {
            await channel.SendAbortAsync(mismatch, cancel);
            throw new MigrationException(mismatch);
        }
        await channel.SendAsync(MigrationMessage.Accept, ReadOnlyMemory<byte>.Empty, cancel);
        // The threads are made while pages arrive, parked: at the handover the guest only has to be let go.
        vm.PrepareThreads();

        ulong pageCount = vm.Memory.Size / GuestRam.PageSize, bytes = 0, pages = 0;
        long receivingTicks = 0;
        var ram = PageBatch.PagesOf(vm.Memory.Host);
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        while (true)
        {
            idle.CancelAfter(options.LinkIdleTimeout);
            MigrationMessage type;
            ReadOnlyMemory<byte> payload = default;
            try
            {
                (type, int length) = await channel.ReceiveHeaderAsync(idle.Token);
                bytes += (ulong)length + 5;
                if (type == MigrationMessage.Pages)
                {
                    long start = Stopwatch.GetTimestamp();
                    pages += (ulong)await channel.ReceivePagesAsync(length, pageCount, ram, idle.Token);
                    receivingTicks += Stopwatch.GetTimestamp() - start;
                    continue;
                }
                payload = await channel.ReceivePayloadAsync(type, length, idle.Token);
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                throw new MigrationException($"the source sent nothing for {options.LinkIdleTimeout.TotalSeconds:0} s");
            }
            switch (type)
            {
                case MigrationMessage.Sync:
                    await channel.SendAsync(MigrationMessage.Synced, ReadOnlyMemory<byte>.Empty, cancel);
                    break;
                case MigrationMessage.State:
                    var parsing = Stopwatch.StartNew();
                    var state = MachineStateCodec.Decode(payload);
                    var parsed = parsing.Elapsed;
                    try
                    {
                        vm.RestoreState(state);
                    }
                    catch (Exception e) when (e is MigrationException or ArgumentException or Kvm.KvmException)
                    {
                        await channel.SendAbortAsync($"the target could not restore the machine state: {e.Message}", cancel);
                        throw new MigrationException($"restoring the machine state failed: {e.Message}", e);
                    }
                    var restored = parsing.Elapsed - parsed;
                    await channel.SendAsync(MigrationMessage.StateLoaded, ReadOnlyMemory<byte>.Empty, cancel);
                    using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancel))
                    {
                        wait.CancelAfter(handoverTimeout);
                        try
                        {
                            await channel.ExpectAsync(MigrationMessage.Go, wait.Token);
                        }
                        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                        {
                            throw new MigrationException($"the source did not hand the VM over within {handoverTimeout.TotalSeconds:0} s of the state being loaded");
                        }
                    }
                    vm.Start();
                    await channel.SendAsync(MigrationMessage.Running, RunningReport.Encode(Stopwatch.GetElapsedTime(vm.StartedAt)), cancel);
                    return new Received(bytes, pages, clock.Elapsed, parsed, restored, Stopwatch.GetElapsedTime(0, receivingTicks));
                default:
                    throw new MigrationException($"the source sent {type} during the memory transfer");
            }
        }
    }

    private static string? Mismatch(VirtualMachine vm, MigrationHello hello)
    {
        if (hello.ProtocolVersion != MigrationChannel.ProtocolVersion)
            return $"the source speaks migration protocol {hello.ProtocolVersion}, the target {MigrationChannel.ProtocolVersion}";
        if (hello.PageSize != PageBatch.PageSize) return $"the source sends {hello.PageSize}-byte pages, the target takes {PageBatch.PageSize}";
        if (hello.Cpus != vm.Config.Cpus) return $"the source VM has {hello.Cpus} vCPUs, the target {vm.Config.Cpus}";
        if (hello.MemoryBytes != vm.Memory.Size) return $"the source VM has {hello.MemoryBytes >> 20} MiB of memory, the target {vm.Memory.Size >> 20} MiB";
        var here = vm.VirtioDevices.Select(d => d.Device.Type.ToString()).ToList();
        if (!here.SequenceEqual(hello.Devices))
            return $"the source VM has the devices [{string.Join(", ", hello.Devices)}], the target [{string.Join(", ", here)}]";
        return null;
    }
}
