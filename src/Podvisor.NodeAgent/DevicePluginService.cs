using Grpc.Core;
using Podvisor.NodeAgent.DevicePluginApi;

namespace Podvisor.NodeAgent;

/// <summary>
/// The kubelet's DevicePlugin service for one <see cref="ServedDevice"/>: its units and their health (again whenever the
/// device comes or goes), and for a container given units, the device node to create in it — nothing else: the pod
/// needs no privileges and no host mounts to use /dev/kvm or /dev/net/tun.
/// </summary>
public sealed class DevicePluginService(ServedDevice device, DeviceHealth health, Action<string> log) : DevicePlugin.DevicePluginBase
{
    public const string Healthy = "Healthy", Unhealthy = "Unhealthy";

    public override Task<DevicePluginOptions> GetDevicePluginOptions(Empty request, ServerCallContext context) =>
        Task.FromResult(new DevicePluginOptions { GetPreferredAllocationAvailable = true });

    public override async Task ListAndWatch(Empty request, IServerStreamWriter<ListAndWatchResponse> responseStream, ServerCallContext context)
    {
        var stop = context.CancellationToken;
        while (!stop.IsCancellationRequested)
        {
            var changed = health.WaitForChangeAsync(stop);             // before reading: a change in between is not missed
            bool healthy = health.Healthy;
            var list = new ListAndWatchResponse();
            list.Devices.AddRange(device.UnitIds.Select(id => new Device { ID = id, Health = healthy ? Healthy : Unhealthy }));
            await responseStream.WriteAsync(list, stop).ConfigureAwait(false);
            log($"{device.ResourceName}: {device.Count} unit(s) {(healthy ? Healthy : $"{Unhealthy} ({device.HostPath} is missing)")}");
            try
            {
                await changed.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;                                                // the kubelet hung up, or the agent stops
            }
        }
    }

    public override Task<PreferredAllocationResponse> GetPreferredAllocation(PreferredAllocationRequest request, ServerCallContext context)
    {
        // Units are interchangeable: the ones that must be in, then the first available others.
        var response = new PreferredAllocationResponse();
        foreach (var container in request.ContainerRequests)
        {
            var chosen = container.MustIncludeDeviceIDs.Concat(container.AvailableDeviceIDs.Except(container.MustIncludeDeviceIDs))
                .Take(container.AllocationSize);
            response.ContainerResponses.Add(new ContainerPreferredAllocationResponse { DeviceIDs = { chosen } });
        }
        return Task.FromResult(response);
    }

    public override Task<AllocateResponse> Allocate(AllocateRequest request, ServerCallContext context)
    {
        var known = device.UnitIds.ToHashSet();
        var response = new AllocateResponse();
        foreach (var container in request.ContainerRequests)
        {
            if (container.DevicesIds.FirstOrDefault(id => !known.Contains(id)) is { } unknown)
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{device.ResourceName} has no unit {unknown}"));
            if (!health.Healthy)
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"{device.HostPath} is missing on this node"));
            response.ContainerResponses.Add(new ContainerAllocateResponse
            {
                Devices = { new DeviceSpec { HostPath = device.HostPath, ContainerPath = device.ContainerPath, Permissions = device.Permissions } },
            });
        }
        return Task.FromResult(response);
    }

    public override Task<PreStartContainerResponse> PreStartContainer(PreStartContainerRequest request, ServerCallContext context) =>
        Task.FromResult(new PreStartContainerResponse());
}
