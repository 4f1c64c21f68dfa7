; NSIS hooks (electron-builder nsis.include). Silent per-machine rollout with a policy:
;   Shoal-Setup-0.1.0.exe /S /POLICY=\\fileserver\it\shoal-policy.json
; The policy is copied to %ProgramData%\Shoal\policy.json by write-policy.ps1, which also
; registers the agent service. Uninstall stops and removes the service; the policy stays.
!include "FileFunc.nsh"

!macro customInstall
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/POLICY=" $R1
  ${IfNot} ${Errors}
    nsExec::ExecToLog '"$SYSDIR\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "$INSTDIR\resources\service\write-policy.ps1" -PolicyFile "$R1" -AppDir "$INSTDIR"'
  ${EndIf}
!macroend

!macro customUnInstall
  IfFileExists "$INSTDIR\resources\service\shoal-agent-service.exe" 0 +3
    nsExec::ExecToLog '"$INSTDIR\resources\service\shoal-agent-service.exe" stop'
    nsExec::ExecToLog '"$INSTDIR\resources\service\shoal-agent-service.exe" uninstall'
!macroend
