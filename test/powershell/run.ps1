<#
    The PowerShell suite: every *.Tests.ps1 here, with Pester (pinned, from .tools/ via scripts/powershell-tools.ts).
    Prints Pester's summary and one closing line "powershell: N passed, N failed"; exits non-zero on any failure.
#>
param([Parameter(Mandatory)] [string] $PesterManifest)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

Import-Module -Name $PesterManifest -Force
# Line coverage of the guest scripts: the fake Windows records the statement lines each run executes.
$coverage = Join-Path ([System.IO.Path]::GetTempPath()) "w365-guest-coverage-$PID.txt"
$env:W365_TEST_COVERAGE = $coverage
$machines = Join-Path ([System.IO.Path]::GetTempPath()) "w365-guest-machines-$PID"
New-Item -ItemType Directory -Path $machines -Force | Out-Null
$env:W365_TEST_MACHINES = $machines
$configuration = New-PesterConfiguration
$configuration.Run.Path = $PSScriptRoot
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$started = [Diagnostics.Stopwatch]::StartNew()
$result = Invoke-Pester -Configuration $configuration
function Write-GuestCoverage {
    $map = @{}
    if (Test-Path -LiteralPath "$coverage.map") {
        foreach ($line in Get-Content -LiteralPath "$coverage.map") {
            $pair = $line.Split('|', 2)
            $map[$pair[0]] = (Resolve-Path -LiteralPath $pair[1]).Path
        }
    }
    $executed = @{}
    if (Test-Path -LiteralPath $coverage) {
        foreach ($line in Get-Content -LiteralPath $coverage) {
            $at = $line.LastIndexOf('|')
            $source = $map[$line.Substring(0, $at)]
            if ($source) {
                $executed["$source|$($line.Substring($at + 1))"] = $true
            }
        }
    }
    $total = 0
    $hit = 0
    foreach ($script in Get-ChildItem -LiteralPath (Join-Path $PSScriptRoot '../../packer/scripts') -File | Where-Object { '.ps1', '.psm1' -contains $_.Extension } | Sort-Object Name) {
        $tokens = $null
        $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($script.FullName, [ref]$tokens, [ref]$errors)
        $lines = @($ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.CommandBaseAst] }, $true) | ForEach-Object { $_.Extent.StartLineNumber } | Sort-Object -Unique)
        $ran = @($lines | Where-Object { $executed.ContainsKey("$($script.FullName)|$_") }).Count
        $total += $lines.Count
        $hit += $ran
        Write-Host ("  {0,-24} {1,4} of {2,4} statement lines executed" -f $script.Name, $ran, $lines.Count)
    }
    Write-Host "Guest scripts executed by the suite: $hit of $total statement lines ($([Math]::Round(100 * $hit / [Math]::Max(1, $total)))%)."
    Remove-Item -LiteralPath $coverage, "$coverage.map" -Force -ErrorAction Ignore
}
Write-GuestCoverage
Remove-Item -LiteralPath $machines -Recurse -Force
$interpreter = "PowerShell $($PSVersionTable.PSVersion) ($($PSVersionTable.PSEdition)) running the guest scripts"
Write-Host "$interpreter; suite time $([Math]::Round($started.Elapsed.TotalSeconds)) s"
Write-Host "powershell: $($result.PassedCount) passed, $($result.FailedCount) failed"
if ($result.Result -ne 'Passed' -or $result.FailedCount -gt 0 -or $result.PassedCount -eq 0) {
    exit 1
}
exit 0
