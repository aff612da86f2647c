<#
.SYNOPSIS
    Clean-up before the facts are read: superseded components (DISM /StartComponentCleanup), the Windows
    Update download cache, and answer files that would fix the computer name (R14).
    The facts then observe what is left.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force

Invoke-W365Native -FilePath "$W365SystemRoot\System32\dism.exe" -ArgumentList @('/Online', '/Cleanup-Image', '/StartComponentCleanup') | Out-Null

$folders = @(
    (Join-Path $W365SystemRoot 'SoftwareDistribution\Download')
)
foreach ($folder in $folders) {
    if (Test-Path -LiteralPath $folder -PathType Container) {
        $items = @(Get-ChildItem -LiteralPath $folder -Force)
        foreach ($item in $items) {
            Remove-Item -LiteralPath $item.FullName -Recurse -Force
        }
        Write-W365Log "Emptied $folder ($($items.Count) item(s))."
    }
}

foreach ($path in @(Get-W365UnattendPaths)) {
    if (Test-Path -LiteralPath $path -PathType Leaf) {
        Write-W365Log "Removing answer file $path"
        Remove-Item -LiteralPath $path -Force
    }
}
Write-W365Log 'Clean-up done.'
exit 0
