namespace Podvisor.Operator.Controllers;

/// <summary>Why the operator could not create the launcher pod: the Synchronized=False condition's reason and message.</summary>
public sealed record VmiPodProblem(string Reason, string Message);
