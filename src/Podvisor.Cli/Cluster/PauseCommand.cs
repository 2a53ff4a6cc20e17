using System.CommandLine;
using System.Text.Json.Nodes;
using Podvisor.Api;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// <c>podvisor pause|unpause VM</c>: asks the operator to pause or resume the VM's running instance (the
/// <see cref="VmiAnnotations.Paused"/> annotation; the operator has the launcher stop or restart every vCPU) and waits
/// until the instance's Paused condition says it is done — or says what the launcher answered instead.
/// </summary>
internal static class PauseCommand
{
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(1);

    public static Command Pause() => Create(pause: true);

    public static Command Unpause() => Create(pause: false);

    private static Command Create(bool pause)
    {
        string verb = pause ? "pause" : "unpause";
        return VmCommand.Create(verb, pause ? "Pause a running VM (its vCPUs stop; memory and devices are kept)." : "Resume a paused VM.", async context =>
        {
            var (resources, name, ct) = (context.Resources, context.Vm, context.CancellationToken);
            var vmi = await resources.GetVmiAsync(name, ct);
            if (vmi is null || vmi.Metadata.DeletionTimestamp is not null || vmi.Status?.Phase != VmiPhases.Running)
            {
                if (vmi is null && await resources.GetVmAsync(name, ct) is null) throw resources.NoSuchVm(name);
                throw new ClusterException($"VM {name} is not running{(vmi?.Status?.Phase is { } phase ? $" (its instance is {phase})" : "")}: only a running VM can be {verb}d");
            }
            bool paused = IsPaused(vmi);
            if (paused == pause && VmiAnnotations.PauseRequested(vmi) == pause)
                throw new ClusterException(pause ? $"VM {name} is already paused" : $"VM {name} is not paused");
            if (pause && vmi.Status.MigrationState is { Completed: not true, Failed: not true, StartTimestamp: not null })
                throw new ClusterException($"VM {name} is migrating: wait for the migration to end, or `podvisor migrate-cancel {name}`, then pause it");

            var requested = DateTime.UtcNow;
            await resources.PatchVmiAsync(name, new JsonObject
            {
                ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [VmiAnnotations.Paused] = pause ? "true" : null } },
            }, ct);
            for (var deadline = DateTime.UtcNow + Wait; ; await Task.Delay(TimeSpan.FromMilliseconds(250), ct))
            {
                var now = await resources.GetVmiAsync(name, ct);
                if (now is null || now.Status?.Phase != VmiPhases.Running)
                    throw new ClusterException($"VM {name} stopped running before it was {verb}d");
                if (IsPaused(now) == pause) break;
                if (DateTime.UtcNow > deadline)
                {
                    var refused = (await resources.WarningsAboutAsync(VirtualMachineInstance.KindName, name, ct))
                        .LastOrDefault(e => e.Reason == (pause ? "PauseFailed" : "UnpauseFailed") && e.When >= requested.AddSeconds(-1));
                    throw new ClusterException($"VM {name} was not {verb}d within {Wait.TotalSeconds:0} s: " +
                        (refused is not null ? refused.Message : "is the Podvisor operator running?") + " (the request stands; the operator keeps trying)");
                }
            }
            Console.WriteLine($"VM {context.Namespace}/{name} was {verb}d");
            return 0;
        });
    }

    private static bool IsPaused(VirtualMachineInstance vmi) => ConditionLookup.IsTrue(vmi.Status?.Conditions, ConditionTypes.Paused);
}
