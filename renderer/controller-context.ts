// React access to the one controller: components select the smallest slice they draw.
import { createContext, useContext } from 'react'
import { useStore } from 'zustand'
import type { ShoalController, ShoalState } from './shoal-store.ts'

export const ControllerContext = createContext<ShoalController | null>(null)

export function useController(): ShoalController {
  const controller = useContext(ControllerContext)
  if (!controller) throw new Error('useController outside <ControllerContext.Provider>')
  return controller
}

export function useShoal<T>(selector: (state: ShoalState) => T): T {
  return useStore(useController().store, selector)
}
