using Podvisor.Api;

namespace Podvisor.Operator.Controllers;

/// <summary>What <see cref="VmiStatusPolicy"/> concluded: whether a launcher pod must be created, and the status to write.</summary>
public sealed record VmiObservation(bool NeedsPod, VirtualMachineInstanceStatus Status);
